"""The benchmark harness: registry, trials, meters, MLflow tracking, executors, CLI."""

import os

# The benchmark never reports usage anywhere; MLflow 3 would try unless told not to.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# MKL's fast memory manager keeps its buffers for the life of the process, so the training-
# memory meter would charge them to whichever trial first runs a matrix shape in a worker
# (measured: 10 MiB on a 1024-wide MLP). Read when MKL loads: bench is imported before torch.
os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")
