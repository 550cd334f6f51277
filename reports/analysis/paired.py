"""Paired statistics over blocks: Wilcoxon signed-rank, bootstrap CI of the median, Holm.

The unit of every paired test is a block, one (dataset, normal class) pair, with the
seeds of each trial averaged first (``block_values``). Seeds of one block share the
data split and are not independent observations, so pooling them would overstate n.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

BLOCK_KEYS = ["dataset", "normal_class"]
BOOTSTRAP_RESAMPLES = 10_000
CONFIDENCE = 0.95
# scipy.stats.wilcoxon computes the exact null distribution up to this many non-zero
# differences; beyond it, or with ties among |differences|, it uses the normal approximation.
EXACT_MAX_N = 50
_ATOL = 1e-12


@dataclass(frozen=True)
class Paired:
    """Paired comparison of ``a`` against ``b`` over blocks with both values."""

    n: int  # blocks with both values
    mean_diff: float  # mean of a - b
    median_diff: float  # median of a - b
    ci_low: float  # 95% bootstrap percentile CI of the median difference (seeded)
    ci_high: float
    statistic: float  # Wilcoxon signed-rank W (scipy.stats.wilcoxon)
    p: float  # nan when n < 2 or all differences zero; two-sided unless asked otherwise
    method: str  # "exact" | "approx" | "n/a"
    wins: int  # a > b
    losses: int  # a < b
    ties: int  # a == b


def wilcoxon_method(diff: np.ndarray) -> str:
    """The Wilcoxon method: exact with few (<= 50) untied non-zero |differences|, else approx.

    "n/a" when fewer than 2 blocks or every difference is zero.
    """
    nz = diff[np.abs(diff) > _ATOL]
    if len(diff) < 2 or len(nz) == 0:
        return "n/a"
    ranks_tied = len(np.unique(np.round(np.abs(nz), 12))) < len(nz)
    return "exact" if len(nz) <= EXACT_MAX_N and not ranks_tied else "approx"


def bootstrap_median_ci(
    diff: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float]:
    """Percentile bootstrap interval (95%) of the median of ``diff``, resampling blocks."""
    if len(diff) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(resamples, len(diff)))
    medians = np.median(diff[idx], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def paired(
    a: np.ndarray, b: np.ndarray, seed: int = 0, alternative: str = "two-sided"
) -> Paired:
    """Compare ``a`` and ``b`` (same blocks, same order); pairs with a NaN are dropped.

    Zero differences are dropped before ranking (``zero_method="wilcox"``); the test is
    two-sided (``alternative="greater"``: one-sided, a > b) and run with the method
    ``wilcoxon_method`` names, so the label is true.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b differ in shape: {a.shape} and {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    diff = a[ok] - b[ok]
    n = len(diff)
    nan = float("nan")
    wins = int((diff > _ATOL).sum())
    losses = int((diff < -_ATOL).sum())
    method = wilcoxon_method(diff)
    w = p = nan
    if method != "n/a":
        nz = diff[np.abs(diff) > _ATOL]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sps.wilcoxon(nz, alternative=alternative, method=method)
        w, p = float(res.statistic), float(res.pvalue)
    low, high = bootstrap_median_ci(diff, seed)
    return Paired(
        n=n,
        mean_diff=float(diff.mean()) if n else nan,
        median_diff=float(np.median(diff)) if n else nan,
        ci_low=low,
        ci_high=high,
        statistic=w,
        p=p,
        method=method,
        wins=wins,
        losses=losses,
        ties=n - wins - losses,
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    NaN entries stay NaN and do not count among the m tests.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(v) for v in out]


def block_values(trials: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Blocks (dataset, normal class) x detectors: ``metric`` averaged over seeds.

    ``trials`` holds one row per trial (columns detector, dataset, normal_class, seed and
    ``metric``), as ``reports.analysis.frames.trial_values`` returns. A block missing a
    detector is NaN.
    """
    t = trials.dropna(subset=[metric])
    if t.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=BLOCK_KEYS))
    means = t.groupby([*BLOCK_KEYS, "detector"])[metric].mean()
    out = means.unstack("detector").sort_index()
    out.columns.name = None
    return out


def compare(blocks: pd.DataFrame, a: str, b: str, seed: int = 0) -> Paired:
    """``paired`` on two columns of ``block_values`` (blocks where both are present)."""
    return paired(blocks[a].to_numpy(), blocks[b].to_numpy(), seed)


def per_dataset_medians(blocks: pd.DataFrame, a: str, b: str) -> pd.Series:
    """Median of a - b over the blocks of each dataset (NaN pairs dropped): sign flips show."""
    d = (blocks[a] - blocks[b]).dropna()
    if d.empty:
        return pd.Series(dtype=float)
    return d.groupby(level="dataset").median()


def smallest_p(n: int) -> float:
    """The smallest p an exact one-sided Wilcoxon test over ``n`` blocks can give: 0.5**n
    (every difference of one sign); with fewer blocks no result can be significant."""
    return 0.5**n if n > 0 else float("nan")


def is_significant(p: float, alpha: float = 0.05) -> bool:
    return not math.isnan(p) and p < alpha
