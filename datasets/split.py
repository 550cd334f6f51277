"""The one split type every dataset produces."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Provenance:
    """Where a split's data came from and what was done to it."""

    protocol: str  # e.g. "deep-svdd-one-vs-rest", "adbench-semi-supervised-70-30"
    source: str  # URL or package the raw data came from
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of the file used
    preprocessing: str = ""


@dataclass(frozen=True)
class Split:
    """A one-class split: ``X_train`` holds normal samples only; ``y_test`` is 1 for anomalies.

    ``train_idx`` / ``test_idx`` index the rows of the source data (for image sets, the
    index within the train or test set of the source, as torchvision orders it).
    Rows of ``X_*`` have shape ``feature_shape`` (``(d,)`` for tabular, ``(C, H, W)`` images).
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

    @property
    def is_image(self) -> bool:
        return len(self.feature_shape) == 3
