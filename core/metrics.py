"""The metric table: every score metric of a trial is one entry here.

A :class:`ScoreMetric` is computed from the test labels (1 = anomaly) and a detector's scores
(higher = more anomalous). The trial (batch and stream) computes every entry for the headline
scores and, for networks, for every scoring rule (``<name>.<rule>``); the store's MLflow UI
view shows it; the report gives it a table per suite with its chance level, bold best and
per-class appendix. Adding a metric is adding an entry to :data:`SCORE_METRICS`.

AUROC and AUPRC are computed as scikit-learn defines them, without its input validation
overhead (a few milliseconds a call, paid once per trial and rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core import schema


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


@dataclass(frozen=True)
class ScoreMetric:
    """A metric of (test labels, anomaly scores).

    ``chance``: a random scorer's value, a constant, or None when it is the test anomaly share
    (the report then prints a ``chance`` row per dataset). Runs aggregate by the mean: per
    trial, over normal classes per seed, then mean ± std over seeds.
    """

    name: str  # the MLflow key; per scoring rule "<name>.<rule>"
    label: str  # as the report writes it
    compute: Callable[[np.ndarray, np.ndarray], float]
    chance: float | None
    higher_is_better: bool = True

    def chance_text(self) -> str:
        return f"{self.chance:g}" if self.chance is not None else "the test anomaly share"


SCORE_METRICS: tuple[ScoreMetric, ...] = (
    ScoreMetric(schema.METRIC_AUROC, "AUROC", auroc, chance=0.5),
    ScoreMetric(schema.METRIC_AUPRC, "AUPRC", auprc, chance=None),
)


def score_metrics(labels: np.ndarray, scores: np.ndarray, rule: str = "") -> dict[str, float]:
    """Every entry of :data:`SCORE_METRICS` for one set of scores (keys ``<name>.<rule>`` when
    ``rule`` is given)."""
    suffix = f".{rule}" if rule else ""
    return {m.name + suffix: m.compute(labels, scores) for m in SCORE_METRICS}
