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
    reused for training unless the protocol resamples with replacement (``resampled``).

    The training part is checked against the protocol (where the loader records the hidden
    ``y_train``): a one-class split must hold no anomaly there; a contaminated split
    (ADBench's and PyOD's protocols) must record its hidden training labels and hold at least
    one normal training row.
    """
    name = f"{split.dataset} (normal class {split.normal_class!r}, seed {split.seed})"
    problems = []
    if len(split.X_train) == 0:
        problems.append("the normal class has no training samples")
    problems += _training_labels(split)
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
    if (
        not split.is_image
        and not split.resampled
        and np.intersect1d(split.train_idx, split.test_idx).size
    ):
        problems.append("some rows are in both the training and the test part")
    if problems:
        raise DatasetError(
            f"{name}: invalid split: {'; '.join(problems)}. The raw data is probably damaged: "
            "delete the dataset's files from the data directory so they are fetched again, "
            "or report the dataset if it persists."
        )
    return split


def _training_labels(split: Split) -> list[str]:
    """What is wrong with the training part for the split's protocol (one-class or not)."""
    y = split.y_train
    if y is None:
        if split.contaminated:
            return [
                "a contaminated split (training on anomalies too) must record the hidden "
                "training labels (y_train) so its contamination can be checked and reported"
            ]
        return []
    if len(y) != len(split.X_train):
        return [f"y_train has {len(y)} labels for {len(split.X_train)} training rows"]
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1}:
        return [f"y_train holds labels {sorted(labels)}, expected 0 (normal) and 1 (anomaly)"]
    n_anomalies = int(np.sum(y))
    if not split.contaminated and n_anomalies:
        return [
            f"the training part holds {n_anomalies} anomalies, but protocol "
            f"{split.provenance.protocol!r} is one-class (trains on normals only)"
        ]
    if len(y) and n_anomalies == len(y):
        return ["the training part holds no normal sample"]
    return []
