"""The one contract every detector in the project follows."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Detector(Protocol):
    """A one-class anomaly detector.

    ``fit`` sees normal samples only; ``score_samples`` returns one score per row,
    higher meaning more anomalous. ``hparams`` holds every hyperparameter actually
    used (after defaults), so a run can log exactly what trained.
    """

    hparams: dict[str, Any]

    def fit(self, X: np.ndarray) -> Detector: ...

    def score_samples(self, X: np.ndarray) -> np.ndarray: ...
