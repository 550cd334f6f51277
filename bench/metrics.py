"""AUROC and AUPRC (average precision), as scikit-learn defines them, without its input
validation overhead (a few milliseconds a call, paid once per trial)."""

from __future__ import annotations

import numpy as np


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic with average ranks for ties."""
    positive = np.asarray(labels) == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both normal (0) and anomalous (1) test samples")
    from scipy.stats import rankdata  # (on first use: usage errors come before scipy loads)

    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over distinct thresholds of (recall step) x precision."""
    labels = np.asarray(labels) == 1
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    sorted_scores, sorted_labels = np.asarray(scores)[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_pos = np.cumsum(sorted_labels)[last]
    precision = true_pos / (last + 1)
    recall_step = np.diff(np.r_[0, true_pos]) / labels.sum()
    return float((recall_step * precision).sum())
