"""The benchmark harness: registry, trials, meters, MLflow tracking, executors, CLI."""

import os

# The benchmark never reports usage anywhere; MLflow 3 would try unless told not to.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
