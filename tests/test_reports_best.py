"""The best of each family, tuned networks beside their untrained control, and the selection
record in the report, on a run table with known values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import trial_row

from core import schema
from reports.analysis import verdict
from reports.analysis.best import best_of, group_blocks, group_means
from reports.analysis.tuned import selections
from reports.report import write_report

LOO = "leave-one-class-out-stratified-70-30"
WIDE, NARROW = "[1024, 1024]", "[128, 64, 32]"
RECORD = {
    "procedure": "the test's procedure",
    "criterion": "held-out cluster AUROC",
    "search_space": {"optimizer, lr": [["sgd", 0.01], ["adam", 0.001]], "widths": [[1024, 1024]]},
    "budget": {"max_steps": 240},
    "tuning_splits": [["tune-iris-loo", 0, "all-but-0"]],
    "command": "python benchmarks/select_networks.py",
    "margin": {"value": 0.0042, "reseeds": [1, 2], "changes": {}},
    "gains": {"goodness": {"tanh": -0.1, "ensemble-3": 0.0031}},
}
# detector -> (AUROC over the block's base, widths, tuned)
GAINS = {
    "ff-goodness-mlp": (0.05, NARROW, False),
    "bp-goodness-mlp": (0.04, NARROW, False),
    "untrained-goodness-mlp": (-0.01, NARROW, False),
    "ff-goodness-mlp-tuned": (0.15, WIDE, True),
    "bp-goodness-mlp-tuned": (0.14, NARROW, True),  # not the control's network
    "untrained-goodness-mlp-tuned": (0.0, WIDE, True),
    "pyod-knn": (0.20, "", False),
    "pyod-iforest": (0.10, "", False),
    "pyod-pca": (0.30, "", False),
}


def _row(det: str, dataset: str, cls: int, seed: int, auroc: float, suite: str) -> dict:
    _, widths, tuned = GAINS[det]
    family = det.split("-")[0]
    row = {
        **trial_row("best", f"{det}/{dataset}/{cls}/{seed}", det, dataset, cls, seed),
        "tags.bench.family": {"untrained": "ref"}.get(family, family),
        "tags.bench.suite": suite,
        "tags.bench.data.protocol": LOO,
        "tags.bench.objective": "goodness" if widths else "",
        "tags.bench.arch": "mlp" if widths else "",
        "metrics.auroc": auroc,
    }
    if widths:
        row |= {"params.hp.widths": widths, "params.hp.score_layers": "sum"}
        row |= {"metrics.auroc.sum": auroc, "metrics.auroc.last": auroc - 0.1}
    if tuned:
        chosen = {"widths": json.loads(widths), "score_layers": "sum", "criterion": 0.9}
        row[f"tags.{schema.TAG_SELECTION}"] = json.dumps({**RECORD, "chosen": chosen})
    return row


def runs_table() -> pd.DataFrame:
    """Two leave-one-class-out sets of 5 blocks each; pyod-pca has no run on the second."""
    rng = np.random.default_rng(1)
    rows = []
    for dataset in ("toy-loo", "toy2-loo"):
        for k in range(5):
            base = 0.5 + 0.2 * rng.random()
            for seed in range(3):
                for det, (gain, *_) in GAINS.items():
                    if det == "pyod-pca" and dataset == "toy2-loo":
                        continue
                    auroc = base + gain + rng.normal(0, 0.005)
                    rows.append(_row(det, dataset, k, seed, auroc, "embedded"))
    # a tuning-suite run: never in a table, whatever its AUROC
    rows.append(_row("ff-goodness-mlp", "tune-iris-loo", 0, 0, 0.123456, "tuning"))
    return pd.DataFrame(rows)


def test_each_family_best_is_chosen_once_among_detectors_with_every_block():
    runs = runs_table()
    (group,) = verdict.groups(runs)
    assert group.datasets == ["toy-loo", "toy2-loo"]  # the tuning suite forms no group
    rows = {r.role: r for r in best_of(runs, group)}
    assert rows["best FF"].detector == "ff-goodness-mlp-tuned" and rows["best FF"].gap is None
    assert rows["best BP"].detector == "bp-goodness-mlp-tuned"
    assert rows["best PyOD"].detector == "pyod-knn"  # pyod-pca lacks a dataset
    assert rows["KNN"].detector == "pyod-knn"
    gap = rows["KNN"].gap
    assert gap.n == 10 and gap.median_diff == pytest.approx(-0.05, abs=0.01)
    assert gap.ci_low <= gap.median_diff <= gap.ci_high
    assert rows["best BP"].gap.median_diff == pytest.approx(0.01, abs=0.01)


def test_a_tuned_network_is_read_against_the_untrained_network_it_shares():
    (group,) = verdict.groups(runs_table())
    tests = {t.detector: t for t in group.untrained}
    tuned = tests["ff-goodness-mlp-tuned"]
    assert tuned.control == "untrained-goodness-mlp-tuned" and tuned.rule == "sum"
    assert tuned.result.median_diff == pytest.approx(0.15, abs=0.01) and tuned.significant
    assert tests["ff-goodness-mlp"].control == "untrained-goodness-mlp"
    other = tests["bp-goodness-mlp-tuned"]  # another width than the control's network
    assert other.result is None and "untrained-goodness-mlp-tuned in hp.widths" in other.why


def test_the_report_prints_the_tables_and_the_selection(tmp_path):
    runs = runs_table()
    assert set(selections(runs)) == {f"{m}-goodness-mlp-tuned" for m in ("ff", "bp", "untrained")}
    text = write_report(runs, tmp_path).read_text()
    best = text.split("\n## Best of each family\n", 1)[1].split("\n## ")[0]
    for name in ("ff-goodness-mlp-tuned", "bp-goodness-mlp-tuned", "pyod-knn"):
        assert f"| {name} |" in best
    (group,) = verdict.groups(runs)
    knn = next(r for r in best_of(runs, group) if r.role == "KNN").gap
    assert f"{knn.median_diff:+.3f}".replace("-", "−") in best
    assert "| ff-goodness-mlp-tuned | sum |" in best  # beside its control
    bp = group_means(group_blocks(runs, group))["bp-goodness-mlp-tuned"]
    assert f"| bp-goodness-mlp-tuned | sum | {bp:.3f} | none (differs" in best  # no control
    assert "untrained-goodness-mlp-tuned" in best
    chosen = text.split("## Tuned networks: how they were chosen")[1].split("\n## ")[0]
    assert "held-out cluster AUROC" in chosen and "max_steps = 240" in chosen
    assert "optimizer, lr in [['sgd', 0.01], ['adam', 0.001]]" in chosen
    assert "| ff-goodness-mlp-tuned | sum | [1024, 1024] | 0.9000 |" in chosen
    stage2 = "goodness: ensemble-3 +0.0031, tanh -0.1000; kept only above the margin 0.0042"
    assert stage2 in chosen and "network seeds [1, 2]" in chosen
    assert "0.123" not in text.replace("0.1234", "")  # the tuning run's AUROC is nowhere
    assert "tune-iris-loo" not in text.split("## Tuned networks")[0]
