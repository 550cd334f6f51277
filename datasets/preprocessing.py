"""Scalers whose statistics come from the training part only (its normals, in one-class
protocols)."""

from __future__ import annotations

import numpy as np

#: What :func:`standardise` does, in a split's provenance (one-class protocols).
STANDARDISED = (
    "z-score per feature with mean/std of the training normals only (a feature constant "
    "there is centred, not scaled); float32"
)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Z-score every array with the per-feature mean/std of ``train``, as float32.

    A feature that is constant in ``train`` is centred but not scaled (std taken as 1). An empty
    ``train`` fits nothing (identity); :func:`~datasets.validation.validate_split` rejects it.
    """
    train = np.asarray(train, dtype=np.float64)
    if len(train):
        mean, std = train.mean(axis=0), train.std(axis=0)
        std[std == 0] = 1.0
    else:
        mean, std = np.zeros(train.shape[1:]), np.ones(train.shape[1:])
    return [
        ((np.asarray(a, dtype=np.float64) - mean) / std).astype(np.float32)
        for a in (train, *others)
    ]


def min_max_per_feature(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every array per feature to ``(x - min) / (max - min)`` with ``train``'s min/max.

    As scikit-learn's ``MinMaxScaler`` (ADBench's scaler): a feature constant in ``train`` is
    shifted by its min, not scaled. ``train`` lands in [0, 1]; other arrays may fall outside it.
    Returns float32 arrays.
    """
    train = np.asarray(train, dtype=np.float64)
    if len(train):
        lo, span = train.min(axis=0), np.ptp(train, axis=0)
        span[span == 0] = 1.0
    else:
        lo, span = np.zeros(train.shape[1:]), np.ones(train.shape[1:])
    return [
        ((np.asarray(a, dtype=np.float64) - lo) / span).astype(np.float32) for a in (train, *others)
    ]


def global_contrast_normalise(images: np.ndarray) -> np.ndarray:
    """Per-sample L1 global contrast normalisation: ``(x - mean(x)) / mean(|x - mean(x)|)``.

    ``images`` has shape ``(N, ...)``; a constant image (zero contrast) is only centred.
    """
    x = images.reshape(len(images), int(np.prod(images.shape[1:]))).astype(np.float32)
    x -= x.mean(axis=1, keepdims=True)
    scale = np.abs(x).mean(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    x /= scale
    return x.reshape(images.shape)


def min_max(train: np.ndarray, *others: np.ndarray) -> tuple[list[np.ndarray], float, float]:
    """Scale every array by ``(x - min) / (max - min)`` with the scalar min/max of ``train``.

    Returns the scaled arrays and the (min, max) used. ``train`` lands in [0, 1]; other
    arrays may fall outside it. An empty ``train`` leaves values unchanged.
    """
    lo, hi = (float(train.min()), float(train.max())) if train.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    scaled = [((a - lo) / span).astype(np.float32) for a in (train, *others)]
    return scaled, lo, hi
