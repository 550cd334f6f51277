"""Reference detectors that learn nothing: controls that show what a trivial statistic scores."""

from __future__ import annotations

from typing import Any

import numpy as np


class InputNorm:
    """Score = squared L2 norm of the (preprocessed) input row; ``fit`` only checks the data.

    The control for "learned" versus "built in": where it scores as well as a trained network,
    the network's score may come from the input's scale rather than from training.
    """

    def __init__(self, seed: int = 0, device: str = "cpu"):
        self.hparams: dict[str, Any] = {}
        self._d: int | None = None

    def fit(self, X: np.ndarray) -> InputNorm:
        self._d = _rows(X).shape[1]
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        if self._d is None:
            raise RuntimeError("InputNorm is not fitted: call fit first")
        rows = _rows(X)
        if rows.shape[1] != self._d:
            raise ValueError(f"X has {rows.shape[1]} features; fit saw {self._d}")
        return np.square(rows).sum(1)


def _rows(X: np.ndarray) -> np.ndarray:
    a = np.asarray(X, dtype=np.float64)
    if a.ndim < 2 or len(a) == 0:
        raise ValueError(f"expected a non-empty 2-D (or image) array, got shape {a.shape}")
    a = a.reshape(len(a), -1)
    if not np.isfinite(a).all():
        raise ValueError("X contains NaN or infinite values")
    return a
