"""The best of each family per verdict group (``reports.analysis.verdict``: a suite's datasets
of one data protocol): the best FF detector, the best of its same-loss twins' family (``bp``),
the best PyOD detector and ``pyod-knn``, each chosen once by mean AUROC among the detectors
with a value on every dataset of the group (``reports.analysis.ranking.best_members``), and
the gap FF − other.

Unit: blocks (dataset, normal class), seeds averaged first; the gap is the median over blocks
of best FF − other with a 95% bootstrap interval, and the two-sided Wilcoxon p (not corrected:
three comparisons per group, read as descriptions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.analysis import paired
from reports.analysis.frames import blocks
from reports.analysis.ranking import best_members
from reports.analysis.verdict import Group

KNN = "pyod-knn"
ROLES = (("best FF", "ff"), ("best BP", "bp"), ("best PyOD", "pyod"), ("KNN", ""))


@dataclass(frozen=True)
class Best:
    """One row: a family's best detector of a group and best FF minus it."""

    role: str
    detector: str  # "" when the family has no detector with a value on every dataset
    mean: float  # the report's mean AUROC over the group's blocks
    gap: paired.Paired | None  # best FF − this detector (None for the FF row or no detector)


def group_blocks(runs: pd.DataFrame, group: Group) -> pd.DataFrame:
    """The blocks of ``group``'s datasets x detectors (headline AUROC, seeds averaged)."""
    b = blocks(runs)
    return b[b.index.get_level_values("dataset").isin(group.datasets)]


def group_means(b: pd.DataFrame) -> dict[str, float]:
    """The report's mean AUROC of every detector over the blocks of ``b`` it has."""
    return {d: float(b[d].dropna().groupby(level="dataset").mean().mean()) for d in b.columns}


def best_of(runs: pd.DataFrame, group: Group) -> list[Best]:
    """The rows of :data:`ROLES` for ``group`` (empty when it has no FF detector)."""
    best = best_members(runs, group.datasets, tuple(f for _, f in ROLES if f))
    ff = best.get("ff", "")
    if not ff:
        return []
    b = group_blocks(runs, group)
    means = group_means(b)
    rows = []
    for role, family in ROLES:
        det = best.get(family, "") if family else (KNN if KNN in means else "")
        gap = None
        if det and det != ff:
            gap = paired.paired(b[ff].to_numpy(), b[det].to_numpy())
        rows.append(Best(role, det, means.get(det, np.nan), gap))
    return rows
