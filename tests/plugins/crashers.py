"""Detectors that fail on purpose, for the harness's failure tests: loaded with ``--include``
(CLI), ``include=`` (API) or ``RunOptions.includes`` (workers), never registered otherwise.

``test-crash`` raises in ``fit`` (a detector bug), ``test-die`` kills its worker process (a
segfault or an OOM kill), ``test-stream-crash`` raises in its third stream batch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ff.hparams as ffhp
from bench.detectors import DetectorSpec

#: This file, for ``--include``.
PATH = str(Path(__file__).resolve())


class Crash:
    """Raises in fit (a detector bug) or kills its process (a segfault / OOM kill)."""

    def __init__(self, seed: int = 0, device: str = "cpu", how: str = "raise"):
        self.hparams = {"how": how}

    def fit(self, X: Any) -> Crash:
        if self.hparams["how"] == "die":
            os._exit(139)
        raise RuntimeError("test-crash: deliberate failure in fit")

    def score_samples(self, X: Any) -> Any:  # pragma: no cover - fit never returns
        raise AssertionError


class StreamCrash(Crash):
    """A stream detector that raises in its third batch."""

    def __init__(self, seed: int = 0, device: str = "cpu", **hparams: Any):
        self.hparams, self.seconds, self._batches = hparams, {"score": 0.0, "update": 0.0}, 0

    def start(self, X: Any) -> None:
        pass

    def score_learn(self, X: Any) -> Any:
        self._batches += 1
        if self._batches == 3:
            raise RuntimeError("test-stream-crash: deliberate failure in the third batch")
        return {"score": X.sum(1)}


STREAM = {"batch_size": ffhp.STREAM_BATCH, "warmup": ffhp.STREAM_WARMUP}
BENCH_DETECTORS = {
    "test-crash": DetectorSpec("", "test", Crash, {"how": "raise"}, description="fails in fit"),
    "test-die": DetectorSpec("", "test", Crash, {"how": "die"}, description="kills its worker"),
    "test-stream-crash": DetectorSpec(
        "", "test", StreamCrash, STREAM, inputs="stream", description="raises in a stream"
    ),
}
