"""Average ranks over blocks, the Friedman test with Nemenyi's critical difference, and the
best detector of each family compared per block."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from reports.analysis.frames import blocks, cells, finished, mean_over_datasets
from reports.analysis.paired import Paired, holm, paired


@dataclass
class Ranking:
    """Average ranks over blocks (rank 1 = highest AUROC) and Friedman/Nemenyi.

    A block is one (dataset, normal class) pair with its seeds averaged.
    """

    matrix: pd.DataFrame  # block x detector, complete
    ranks: pd.DataFrame  # same shape, per-block ranks
    dropped_detectors: list[str] = field(default_factory=list)
    dropped_datasets: list[str] = field(default_factory=list)  # dropped blocks, "dataset/class"
    statistic: float = float("nan")
    pvalue: float = float("nan")
    cd: float = float("nan")
    alpha: float = 0.05
    reason: str = ""
    unit: str = "blocks (dataset, normal class), seeds averaged"

    @property
    def average(self) -> pd.Series:
        """Average rank per detector, best first."""
        return self.ranks.mean(axis=0).sort_values()

    @property
    def cd_spans_all(self) -> bool:
        """True when the CD is at least the spread of the average ranks: no pair differs."""
        avg = self.average
        return bool(len(avg)) and not (avg.max() - avg.min() >= self.cd)


def complete_matrix(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Drop the detector or row with the largest share of missing cells until none is."""
    dropped_det: list[str] = []
    dropped_ds: list[str] = []
    m = matrix
    while m.size and m.isna().to_numpy().any():
        by_det = m.isna().mean(axis=0)
        by_ds = m.isna().mean(axis=1)
        if by_det.max() >= by_ds.max():
            name = str(by_det.idxmax())
            dropped_det.append(name)
            m = m.drop(columns=name)
        else:
            key = by_ds.idxmax()
            dropped_ds.append("/".join(map(str, key)) if isinstance(key, tuple) else str(key))
            m = m.drop(index=[key])
    return m, dropped_det, dropped_ds


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference: q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def rank_rows(m: pd.DataFrame) -> pd.DataFrame:
    """Per-row ranks, 1 = highest value, ties averaged."""
    return m.apply(lambda row: pd.Series(stats.rankdata(-row.to_numpy()), index=row.index), axis=1)


def friedman(matrix: pd.DataFrame, alpha: float = 0.05) -> Ranking:
    """Friedman test and Nemenyi CD over the rows (blocks) of ``matrix`` (NaN made complete)."""
    m, dd, ds = complete_matrix(matrix)
    r = Ranking(
        matrix=m, ranks=rank_rows(m), dropped_detectors=dd, dropped_datasets=ds, alpha=alpha
    )
    k, n = m.shape[1], m.shape[0]
    if k < 3 or n < 2:
        r.reason = (
            f"the Friedman test needs at least 3 detectors and 2 blocks with complete "
            f"results; there are {k} detectors on {n} blocks"
        )
        return r
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.friedmanchisquare(*(m[d].to_numpy() for d in m.columns))
    r.statistic, r.pvalue = float(res.statistic), float(res.pvalue)
    r.cd = critical_difference(k, n, alpha)
    return r


def block_matrix(runs: pd.DataFrame, name: str, datasets: list[str]) -> pd.DataFrame:
    """``blocks`` of ``name`` on ``datasets`` only."""
    b = blocks(runs, name)
    return b[b.index.get_level_values("dataset").isin(datasets)] if len(b) else b


def ranking(runs: pd.DataFrame, alpha: float = 0.05, datasets: list[str] | None = None) -> Ranking:
    """Friedman over blocks of ``datasets`` (default: all) on AUROC; >= 3 detectors, 2 blocks."""
    b = blocks(runs)
    if datasets is not None and len(b):
        b = b[b.index.get_level_values("dataset").isin(datasets)]
    return friedman(b, alpha)


@dataclass
class FamilyRanking:
    """Best detector of each family (by mean AUROC over the suite's datasets) per block."""

    best: dict[str, str]  # family -> detector
    ranking: Ranking  # columns are families
    pairs: list[tuple[str, str, Paired]]  # (family a, family b, their paired comparison)
    holm: list[float]


def best_members(
    runs: pd.DataFrame, datasets: list[str], families: tuple[str, ...]
) -> dict[str, str]:
    """Per family, its detector with the highest mean AUROC over ``datasets`` among those with
    a value on every dataset: chosen once, not per block."""
    f = finished(runs)
    fam = f.groupby("detector")["family"].first()
    means = mean_over_datasets(cells(runs, "auroc"), datasets)
    means = means[means["n_datasets"] == len(datasets)]  # a value on every dataset
    best = {}
    for family in families:
        members = [d for d in means.index if fam.get(d) == family]
        if members:
            best[family] = max(members, key=lambda d: (means.loc[d, "mean"], d))
    return best


def family_ranking(
    runs: pd.DataFrame, datasets: list[str], families: tuple[str, ...] = ("ff", "bp", "pyod")
) -> FamilyRanking | None:
    """Best FF vs best BP vs best PyOD, each chosen once by mean AUROC over ``datasets``
    (not per block, which would favour the family with most members), compared per block."""
    best = best_members(runs, datasets, families)
    if len(best) < 2:
        return None
    b = blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(datasets)]
    matrix = pd.DataFrame({family: b[det] for family, det in best.items()}).dropna()
    rk = friedman(matrix)
    names = list(best)
    pairs = [
        (x, y, paired(matrix[x].to_numpy(), matrix[y].to_numpy()))
        for i, x in enumerate(names)
        for y in names[i + 1 :]
    ]
    return FamilyRanking(best, rk, pairs, holm([p.p for _, _, p in pairs]))


def cliques(average: pd.Series, cd: float) -> list[list[str]]:
    """Maximal groups of detectors (sorted by rank) whose rank spread is below the CD."""
    names, values = list(average.index), average.to_numpy()
    groups: list[list[str]] = []
    last_end = -1
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and j > last_end:
            groups.append(names[i : j + 1])
            last_end = j
    return groups
