"""The one check every split passes before it reaches a detector."""

from __future__ import annotations

import numpy as np

from datasets.errors import DatasetError
from datasets.split import Split


def validate_split(split: Split) -> Split:
    """Return ``split`` unchanged, or raise :class:`DatasetError` saying what is wrong with it.

    Checks: normal training data present, finite features, matching lengths of
    ``X``/``y``/indices, row shape equal to ``feature_shape``, 0/1 test labels with both
    classes present (AUROC needs both), and, for tabular sets (one index space), no test row
    reused for training.
    """
    name = f"{split.dataset} (normal class {split.normal_class!r}, seed {split.seed})"
    problems = []
    if len(split.X_train) == 0:
        problems.append("the normal class has no training samples")
    for part in ("X_train", "X_test"):
        x = getattr(split, part)
        if tuple(x.shape[1:]) != tuple(split.feature_shape):
            problems.append(f"{part} rows have shape {x.shape[1:]}, expected {split.feature_shape}")
        if not np.isfinite(x).all():
            problems.append(f"{part} holds NaN or infinite values")
    if len(split.y_test) != len(split.X_test):
        problems.append(f"y_test has {len(split.y_test)} labels for {len(split.X_test)} test rows")
    if len(split.train_idx) != len(split.X_train):
        problems.append(
            f"train_idx has {len(split.train_idx)} entries for {len(split.X_train)} rows"
        )
    if len(split.test_idx) != len(split.X_test):
        problems.append(f"test_idx has {len(split.test_idx)} entries for {len(split.X_test)} rows")
    labels = set(np.unique(split.y_test).tolist())
    if not labels <= {0, 1}:
        problems.append(
            f"y_test holds labels {sorted(labels)}, expected 0 (normal) and 1 (anomaly)"
        )
    elif labels != {0, 1}:
        problems.append("the test part lacks normal or anomalous samples, so AUROC is undefined")
    if not split.is_image and np.intersect1d(split.train_idx, split.test_idx).size:
        problems.append("some rows are in both the training and the test part")
    if problems:
        raise DatasetError(
            f"{name}: invalid split: {'; '.join(problems)}. The raw data is probably damaged: "
            "delete the dataset's files from the data directory so they are fetched again, "
            "or report the dataset if it persists."
        )
    return split
