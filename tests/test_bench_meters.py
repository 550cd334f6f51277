"""The memory meters count what is allocated inside ``fit`` and nothing else (FF's flat peak
against the twins' growth in depth is ``tests/test_memory_bounds.py``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import allocmeter
from bench.meters import MALLOC, measure_fit


def test_meter_counts_allocations_made_inside_fit_only():
    held = []

    def allocate() -> None:
        held.append(np.ones(4 * 2**20 // 8))  # 4 MiB kept alive by the test

    reading = measure_fit(allocate, "cpu")
    assert reading.peak_train_mem_bytes == pytest.approx(4 * 2**20, rel=0.05)
    reading = measure_fit(lambda: None, "cpu")
    assert reading.peak_train_mem_bytes < 2**20


PRELOADED = """
import json, numpy as np
from bench.meters import measure_fit, warm_up
warm_up()
held = []
four_mib = measure_fit(lambda: held.append(np.ones(2**19)), "cpu")
print(json.dumps({"meter": four_mib.meter, "four_mib": four_mib.peak_train_mem_bytes}))
"""


@pytest.mark.skipif(allocmeter.library() is None, reason="no C compiler for the malloc meter")
def test_preloaded_malloc_meter_counts_what_fit_allocates():
    env = allocmeter.preload_env(dict(os.environ))
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", PRELOADED], env=env, cwd=root,
                         capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["meter"] == MALLOC
    assert got["four_mib"] == pytest.approx(4 * 2**20, rel=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trial_records_the_allocator_peak():
    from bench.trial import Trial
    from bench.worker import execute

    trial = Trial("ff-hb-svdd-mlp", "wine", 0, 0, {"epochs": 2})
    result = execute(trial, "cuda", None)
    assert result.status == "FINISHED", result.error
    assert result.tags["bench.memory_meter"] == "cuda-max-allocated"
    assert result.metrics["peak_gpu_mem_bytes"] > 0
    assert result.metrics["peak_train_mem_bytes"] == result.metrics["peak_gpu_mem_bytes"]


FIRST_FIT = """
import bench  # before torch, as the CLI and its workers import it
import json, numpy as np
import ff
from bench.meters import measure_fit, warm_up
warm_up()
X = np.random.default_rng(0).standard_normal((512, 100)).astype(np.float32)
peaks = []
for _ in range(2):
    det = ff.OneClassDetector("goodness", "mlp", "ff", widths=[1024, 1024], batch_size=128,
                              max_steps=2)
    det.build(X.shape[1:])
    peaks.append(measure_fit(lambda: det.fit(X), "cpu").peak_train_mem_bytes)
print(json.dumps(peaks))
"""


def test_first_fit_of_a_shape_is_not_charged_for_library_caches():
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", FIRST_FIT], cwd=root, capture_output=True,
                         text=True, timeout=120, check=True)
    first, second = json.loads(out.stdout.strip().splitlines()[-1])
    assert first == pytest.approx(second, rel=0.05)  # without MKL_DISABLE_FAST_MM: +40%
