"""What a worker does with a trial: load its split, run it by the batch or the online
protocol, and return a result, FAILED when anything raised."""

from __future__ import annotations

import time
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.trial import Trial, TrialResult, failed


def execute(trial: Trial, device: str, data_dir: Path | None) -> TrialResult:
    """Run one trial here: load the split, fit under the meters, score, compute metrics."""
    start = time.time()
    try:
        result = _execute(trial, device, data_dir, start)
    except Exception as exc:  # every failure becomes a FAILED run, never a silent NaN
        return failed(trial, f"{type(exc).__name__}: {exc}", traceback.format_exc(), start)
    from bench.splitinfo import describe  # the split's train and test parts: MLflow inputs

    result.inputs = result.inputs or describe(
        _cached_split(trial.dataset, trial.normal_class, trial.seed, data_dir)
    )
    return result


@lru_cache(maxsize=2)
def _cached_split(dataset: str, normal_class: int | str, seed: int, data_dir: Path | None) -> Any:
    """Consecutive trials share a split (the plan runs every detector on one split in turn)."""
    from datasets import load_split

    return load_split(dataset, normal_class, seed, data_dir=data_dir)


def _execute(trial: Trial, device: str, data_dir: Path | None, start: float) -> TrialResult:
    import torch

    from bench.detectors import DETECTORS
    from bench.meters import warm_up

    warm_up()
    spec = DETECTORS.get(trial.detector)
    split = _cached_split(trial.dataset, trial.normal_class, trial.seed, data_dir)
    torch.manual_seed(trial.seed)
    np.random.seed(trial.seed % 2**32)
    if spec.inputs == "stream" or not hasattr(split, "X_train"):  # the online protocol
        from bench.prequential import execute_stream  # (it refuses a detector/data mismatch)

        return execute_stream(trial, spec, split, device, start)
    from bench.batch import execute_batch

    return execute_batch(trial, spec, split, device, start)
