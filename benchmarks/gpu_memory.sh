#!/usr/bin/env bash
# The memory suite on a CUDA GPU: peak memory per trial, one fresh process each (see
# benchmarks/gpu_memory.py). Without CUDA it says so and exits 0.
#   bash benchmarks/gpu_memory.sh [--suite memory-adam] [--parallel 4] [--seeds 1]
set -euo pipefail
cd "$(dirname "$0")/.."
python benchmarks/gpu_memory.py "$@"
