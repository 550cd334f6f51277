"""reports.analysis.paired against scipy and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from reports.analysis import paired as pr


def test_paired_matches_scipy_exact_and_hand_counts():
    a = np.array([0.9, 0.8, 0.75, 0.6, 0.99, 0.7, 0.5])
    b = np.array([0.85, 0.83, 0.69, 0.4, 0.91, 0.7, 0.51])
    r = pr.paired(a, b)
    d = a - b
    nz = d[np.abs(d) > 1e-12]
    ref = sps.wilcoxon(nz, method="exact")
    assert r.method == "exact"
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.p == pytest.approx(ref.pvalue)
    assert r.n == 7
    assert (r.wins, r.losses, r.ties) == (4, 2, 1)
    assert r.mean_diff == pytest.approx(d.mean())
    assert r.median_diff == pytest.approx(np.median(d))
    assert r.ci_low <= r.median_diff <= r.ci_high


def test_exact_p_by_hand():
    # all 5 differences positive, distinct: W = min(R+, R-) = 0; exact two-sided p = 2 / 2^5
    r = pr.paired(np.arange(1, 6) * 0.1 + 1, np.ones(5))
    assert r.method == "exact"
    assert r.statistic == 0
    assert r.p == pytest.approx(2 / 32)


def test_ties_in_magnitude_force_the_normal_approximation():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = np.array([0.0, 1.0, 2.0, 3.5, 5.5, 5.0])  # |d| = 1, 1, 1, .5, .5, 1
    r = pr.paired(a, b)
    assert r.method == "approx"
    ref = sps.wilcoxon(a - b, method="approx")
    assert r.p == pytest.approx(ref.pvalue)


def test_large_n_is_approximate():
    rng = np.random.default_rng(1)
    a = rng.normal(size=60)
    b = rng.normal(size=60)
    r = pr.paired(a, b)
    assert r.method == "approx"
    assert r.p == pytest.approx(sps.wilcoxon(a, b, method="approx").pvalue)


def test_degenerate_inputs_give_nan_p():
    one = pr.paired(np.array([0.7]), np.array([0.5]))
    assert one.n == 1 and math.isnan(one.p) and one.method == "n/a"
    same = pr.paired(np.array([0.5, 0.6, 0.7]), np.array([0.5, 0.6, 0.7]))
    assert math.isnan(same.p) and same.method == "n/a" and same.ties == 3
    assert same.ci_low == same.ci_high == 0.0
    empty = pr.paired(np.array([np.nan, 1.0]), np.array([0.2, np.nan]))
    assert empty.n == 0 and math.isnan(empty.median_diff) and math.isnan(empty.ci_low)


def test_nan_pairs_are_dropped():
    r = pr.paired(np.array([0.9, np.nan, 0.7, 0.8]), np.array([0.5, 0.5, np.nan, 0.6]))
    assert r.n == 2
    assert r.mean_diff == pytest.approx((0.4 + 0.2) / 2)


def test_bootstrap_is_seeded_and_is_a_percentile_interval():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=12), rng.uniform(size=12)
    r1, r2 = pr.paired(a, b, seed=3), pr.paired(a, b, seed=3)
    assert (r1.ci_low, r1.ci_high) == (r2.ci_low, r2.ci_high)
    d = a - b
    # the interval of medians of resamples lies within the range of the differences
    assert d.min() <= r1.ci_low <= r1.ci_high <= d.max()
    # recompute by hand with the same generator
    idx = np.random.default_rng(3).integers(0, 12, size=(pr.BOOTSTRAP_RESAMPLES, 12))
    lo, hi = np.percentile(np.median(d[idx], axis=1), [2.5, 97.5])
    assert (r1.ci_low, r1.ci_high) == pytest.approx((lo, hi))


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, float("nan"), 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    adj = pr.holm(p)
    assert adj[4] == pytest.approx(0.02)
    assert adj[0] == pytest.approx(0.03)
    assert adj[2] == pytest.approx(0.06)
    assert adj[1] == pytest.approx(0.06)
    assert math.isnan(adj[3])
    assert pr.holm([0.6, 0.7]) == [1.0, 1.0]
    assert pr.holm([]) == []


def test_block_values_average_seeds_per_block():
    trials = pd.DataFrame(
        {
            "detector": ["a", "a", "a", "b", "b", "a"],
            "dataset": ["x", "x", "x", "x", "x", "y"],
            "normal_class": ["0", "0", "1", "0", "0", "0"],
            "seed": ["0", "1", "0", "0", "1", "0"],
            "auroc": [0.6, 0.8, 0.9, 0.5, np.nan, 0.4],
        }
    )
    bv = pr.block_values(trials, "auroc")
    assert list(bv.index) == [("x", "0"), ("x", "1"), ("y", "0")]
    assert bv.loc[("x", "0"), "a"] == pytest.approx(0.7)
    assert bv.loc[("x", "0"), "b"] == pytest.approx(0.5)
    assert math.isnan(bv.loc[("x", "1"), "b"])
    r = pr.compare(bv, "a", "b")
    assert r.n == 1
    med = pr.per_dataset_medians(bv, "a", "b")
    assert med.to_dict() == pytest.approx({"x": 0.2})


def test_block_values_of_any_logged_metric():
    """Metrics outside the fixed column list (per-rule scores) reach trial_values by key."""
    from reports.analysis import frames

    runs = pd.DataFrame(
        {
            "status": ["FINISHED"] * 4,
            "params.detector": ["a", "a", "b", "b"],
            "params.dataset": ["x"] * 4,
            "params.normal_class": ["0"] * 4,
            "params.seed": ["0", "1", "0", "1"],
            "tags.bench.suite": ["tabular"] * 4,
            "metrics.auroc.last": [0.6, 0.8, 0.5, 0.7],
        }
    )
    bv = pr.block_values(frames.trial_values(runs, "auroc.last"), "auroc.last")
    assert bv.loc[("x", "0")].to_dict() == pytest.approx({"a": 0.7, "b": 0.6})
