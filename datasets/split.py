"""The one split type every dataset produces, and scikit-learn's splitter (imported on first
use, not with the registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Provenance:
    """Where a split's data came from and what was done to it."""

    protocol: str  # e.g. "deep-svdd-one-vs-rest", "adbench-one-class-70-30"
    source: str  # URL or package the raw data came from
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of the file used
    preprocessing: str = ""


@dataclass(frozen=True)
class Split:
    """A split: detectors fit on ``X_train`` and score ``X_test``; ``y_test`` is 1 for anomalies.

    In a one-class protocol (every protocol but the two below) ``X_train`` holds normal
    samples only. ADBench's and PyOD's own protocols train on a contaminated part: the
    training rows include anomalies, their labels hidden from the detector
    (``contaminated=True``).

    ``train_idx`` / ``test_idx`` index the rows of the source data (for image sets, the
    index within the train or test set of the source, as torchvision orders it). Where the
    protocol resamples with replacement (``resampled=True``: ADBench duplicates the rows of
    sets under 1000 samples), an index may repeat and may occur in both parts.
    Rows of ``X_*`` have shape ``feature_shape`` (``(d,)`` for tabular, ``(C, H, W)`` images).

    ``y_train`` holds the hidden 0/1 labels of the training rows where the loader records
    them: only for validation and reporting, never given to a detector.
    """

    dataset: str
    normal_class: int | str
    seed: int
    X_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    feature_shape: tuple[int, ...]
    provenance: Provenance
    y_train: np.ndarray | None = None
    contaminated: bool = False
    resampled: bool = False

    @property
    def is_image(self) -> bool:
        return len(self.feature_shape) == 3


def train_test_split(*arrays: Any, **options: Any) -> list[Any]:
    """scikit-learn's ``train_test_split``, imported on first use (not with the registry)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(*arrays, **options)
