"""FF against its same-loss twin (``bp-*``) and against the best PyOD detector, per verdict
group (``reports.analysis.verdict``): a suite's datasets of one protocol.

Unit: blocks (dataset, normal class), seeds averaged first; two-sided Wilcoxon signed-rank,
Holm-corrected across the FF detectors of a group and comparison; median Δ with a 95%
bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.analysis import paired
from reports.analysis.frames import blocks, finished
from reports.analysis.verdict import Group


@dataclass(frozen=True)
class Versus:
    """An FF detector against one other detector over a group's blocks."""

    other: str
    mean_other: float
    result: paired.Paired | None
    p_holm: float


@dataclass(frozen=True)
class Headline:
    """One FF detector of a group: its mean, its twin and the group's best PyOD detector."""

    detector: str
    mean: float
    twin: Versus
    pyod: Versus


def headlines(runs: pd.DataFrame, group: Group) -> list[Headline]:
    """Every FF detector of ``group`` against its same-loss twin and the best PyOD detector
    (chosen once per group by mean AUROC over its datasets, not per block)."""
    f = finished(runs)
    f = f[f["dataset"].isin(group.datasets)]
    fam = f.groupby("detector")["family"].first()
    b = blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(group.datasets)]
    means = {d: _mean(b[d]) for d in b.columns}
    pyods = [d for d in b.columns if fam.get(d) == "pyod" and not np.isnan(means[d])]
    best = max(pyods, key=lambda d: (means[d], d)) if pyods else ""
    ffs = sorted(d for d in b.columns if fam.get(d) == "ff")
    twin = {d: d.replace("ff-", "bp-", 1) for d in ffs}
    raw_twin = [_versus(b, d, twin[d], means) for d in ffs]
    raw_pyod = [_versus(b, d, best, means) for d in ffs]
    return [
        Headline(d, means[d], t, p)
        for d, t, p in zip(ffs, _holm(raw_twin), _holm(raw_pyod), strict=True)
    ]


def _mean(values: pd.Series) -> float:
    """The report's mean over the blocks present: datasets' means of blocks, then their mean."""
    values = values.dropna()
    return float(values.groupby(level="dataset").mean().mean()) if len(values) else np.nan


def _versus(b: pd.DataFrame, det: str, other: str, means: dict[str, float]) -> Versus:
    if other not in b:
        return Versus(other, np.nan, None, np.nan)
    both = b[[det, other]].dropna()
    if both.empty:
        return Versus(other, np.nan, None, np.nan)
    return Versus(
        other, means[other], paired.paired(both[det].to_numpy(), both[other].to_numpy()), np.nan
    )


def _holm(rows: list[Versus]) -> list[Versus]:
    adjusted = paired.holm([r.result.p if r.result else np.nan for r in rows])
    return [Versus(r.other, r.mean_other, r.result, p) for r, p in zip(rows, adjusted, strict=True)]
