"""The FF-versus-backprop decomposition: each contrast recomputed by hand from the run table."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from synthetic_runs import trial_row

from core import schema
from reports.analysis import decomposition
from reports.analysis.runs import read_results
from reports.report import write_report
from reports.sections import twins

CORE = "hb-svdd-mlp"
FAMILY = {"ff": "ff", "bp": "bp", "bpl": "bpl", "bpl-nonorm": "bpl", "untrained": "ref"}
BLOCKS = [("digits", c) for c in range(4)] + [("wine", c) for c in range(3)]
SEEDS = [0, 1]


def _name(family: str) -> str:
    return f"bpl-{CORE}-nonorm" if family == "bpl-nonorm" else f"{family}-{CORE}"


def _runs(rng: np.random.Generator) -> pd.DataFrame:
    """Finished runs of the five networks of one (objective, arch), plus an old ff version."""
    shift = {"ff": 0.1, "bp": 0.09, "bpl": -0.05, "bpl-nonorm": 0.05, "untrained": -0.3}
    rows = []
    for family, delta in shift.items():
        for dataset, cls in BLOCKS:
            for seed in SEEDS:
                rules = {
                    "sum": float(np.clip(0.6 + delta + rng.normal(0, 0.05), 0, 1)),
                    "last": float(np.clip(0.55 + delta / 2 + rng.normal(0, 0.05), 0, 1)),
                }
                rows.append(_row(_name(family), FAMILY[family], dataset, cls, seed, rules, "2"))
    # an older version of ff with another meaning: must not enter any contrast
    for dataset, cls in BLOCKS:
        rows.append(_row(_name("ff"), "ff", dataset, cls, 0, {"sum": 0.0, "last": 0.0}, "1"))
    return pd.DataFrame(rows)


def _row(det, family, dataset, cls, seed, rules, version) -> dict:
    return {
        **trial_row("e", f"{det}-{dataset}-{cls}-{seed}-{version}", det, dataset, cls, seed),
        "tags.bench.family": family,
        "tags.bench.objective": "hb-svdd",
        "tags.bench.arch": "mlp",
        "tags.bench.suite": "embedded",
        f"tags.{schema.TAG_DETECTOR_VERSION}": version,
        "metrics.auroc": rules["sum" if family != "bpl" else "last"],
        **{f"metrics.auroc.{rule}": v for rule, v in rules.items()},
    }


def _blocks(runs: pd.DataFrame, det: str, rule: str) -> pd.Series:
    new = runs[runs[f"tags.{schema.TAG_DETECTOR_VERSION}"] == "2"]
    d = new[new["params.detector"] == det]
    return d.groupby(["params.dataset", "params.normal_class"])[f"metrics.auroc.{rule}"].mean()


def _by_hand(runs: pd.DataFrame, a: tuple[str, str], b: tuple[str, str]) -> np.ndarray:
    return (_blocks(runs, *a) - _blocks(runs, *b)).to_numpy()


@pytest.fixture(scope="module")
def runs():
    return _runs(np.random.default_rng(7))


def test_every_contrast_recomputes_by_hand(runs):
    rows = decomposition.decompose(runs)
    assert [r.contrast for r in rows] == decomposition.contrasts("hb-svdd", "mlp")
    raw = []
    for r in rows:
        diff = _by_hand(runs, r.contrast.a, r.contrast.b)
        assert r.result.n == len(BLOCKS)  # blocks, not trials: seeds were averaged
        assert r.result.median_diff == pytest.approx(np.median(diff))
        digits, wine = np.median(diff[:4]), np.median(diff[4:])  # BLOCKS: digits first
        assert list(r.by_dataset) == pytest.approx([digits, wine])
        a = _blocks(runs, *r.contrast.a).to_numpy()  # the report's mean: datasets first
        assert r.mean_a == pytest.approx((a[:4].mean() + a[4:].mean()) / 2)
        p = sps.wilcoxon(diff, method=r.result.method).pvalue
        assert r.result.p == pytest.approx(p)
        raw.append(p)
    m = len(raw)
    order = np.argsort(raw)
    holm = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * raw[i]))
        holm[i] = running
    assert [r.p_holm for r in rows] == pytest.approx(list(holm))


def test_old_versions_never_mix_with_new(runs):
    (flow,) = [
        r
        for r in decomposition.decompose(runs)
        if r.contrast.label().startswith(f"ff-{CORE} sum − bp-")
    ]
    assert flow.mean_a > 0.5  # the version-1 runs scored 0.0


def test_report_section_recomputes_from_results_csv(runs, tmp_path):
    write_report(runs, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "one difference at a time" in text
    assert (tmp_path / "tables" / "decomposition.tex").exists()
    again = decomposition.decompose(read_results(tmp_path / "results.csv"))
    first = decomposition.decompose(runs)
    assert [r.result for r in again] == [r.result for r in first]
    for r in first:
        assert r.contrast.label() in text
    # the untrained control (sum) is below chance on average in this synthetic table
    assert f"untrained-{CORE}" in text.split("Below chance")[1].split("\n")[0]


def test_summary_names_significant_effects_in_words(runs):
    rows = decomposition.decompose(runs)
    lines = twins.summary(rows)
    assert len(lines) == 5  # one sentence per effect (a)-(e)
    for line, effect in zip(lines, ["(a)", "(b)", "(c)", "(d)", "(e)"], strict=True):
        assert line.startswith(f"- {effect}")
    flow = lines[0]
    if not any(r.significant for r in rows if r.contrast.effect.startswith("(a)")):
        assert "no contrast differs" in flow
