"""The label-free selection (bench.selection) and the tuned presets it wrote (ff/tuned.json):
no label changes a choice, the held-out cluster problem, the registry and the logged record."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from bench import selection
from bench.cli import main
from bench.detectors import DETECTORS
from core import schema
from datasets import DATASETS, load_split
from ff.hparams import DECLARABLE_RULES, TRAINING_KEYS
from ff.presets import TUNED_MODES, tuned_objectives

TINY_GRID = selection.grid((("sgd", 1e-2), ("adam", 1e-3)), ((8,), (8, 4)), {"max_steps": 4})


def _splits() -> list:
    iris = DATASETS.get("tune-iris-loo").normal_classes
    return [load_split("tune-iris-loo", c, s) for s, c in enumerate(iris[:2])] + [
        load_split("tune-moons-loo", "all-but-2", 0)
    ]


def test_the_choice_is_the_same_with_the_test_labels_shuffled_or_removed():
    splits = _splits()
    rng = np.random.default_rng(0)
    shuffled = [dataclasses.replace(s, y_test=rng.permutation(s.y_test)) for s in splits]
    removed = [
        dataclasses.replace(s, X_test=s.X_test[:0], y_test=s.y_test[:0], test_idx=s.test_idx[:0])
        for s in splits
    ]
    args = (TINY_GRID, ("hb-svdd",), ("ff", "bp"))
    chosen = selection.select(splits, *args)
    assert selection.select(shuffled, *args) == chosen
    assert selection.select(removed, *args) == chosen
    ranked = chosen["candidates"]["hb-svdd"]["ff"]
    assert len(ranked) == len(TINY_GRID) * len(DECLARABLE_RULES)
    best = {k: v for k, v in ranked[0].items() if k != "per_set"}
    assert best == chosen["chosen"]["hb-svdd"]["ff"]
    assert set(ranked[0]["per_set"]) == {"tune-iris-loo", "tune-moons-loo"}
    values = [c["criterion"] for c in ranked]
    assert values == sorted(values, reverse=True) and 0.0 <= min(values) <= max(values) <= 1.0


def test_the_held_out_cluster_problem_partitions_the_training_normals():
    X = load_split("tune-blobs-loo", "all-but-3", 1).X_train
    p = selection.held_out_cluster(X, seed=5)
    rows = np.vstack([p.train, p.normal, p.dropped])
    assert len(rows) == len(X)
    assert np.array_equal(np.unique(rows, axis=0), np.unique(X, axis=0))
    assert len(p.normal) == max(selection.MIN_HELD_OUT, int((len(X) - len(p.dropped)) * 0.2))
    again = selection.held_out_cluster(X, seed=5)
    assert np.array_equal(again.dropped, p.dropped) and np.array_equal(again.train, p.train)


def test_a_cluster_of_normals_is_what_the_criterion_detects():
    """On well-separated blobs the dropped cluster is easy for a detector that learns the
    training normals' shape: the criterion of a trained network is well above chance."""
    problem = selection.held_out_cluster(load_split("tune-blobs-loo", "all-but-0", 0).X_train, 0)
    config = {"optimizer": "sgd", "lr": 1e-2, "widths": [64], "max_steps": 60}
    values = selection.criterion("ff-goodness-mlp", config, problem, seed=0)
    assert set(values) == set(DECLARABLE_RULES) and values["sum"] > 0.8


@pytest.mark.parametrize("objective", tuned_objectives())
def test_tuned_presets_are_the_recorded_choice_with_their_controls(objective):
    core = f"{objective}-mlp"
    names = [f"{m}-{core}-tuned" for m in TUNED_MODES]
    ff, bp, untrained = (DETECTORS.get(n) for n in names)
    assert (ff.family, bp.family, untrained.family) == ("ff", "bp", "ref")
    assert (ff.twin, bp.twin, untrained.twin) == (names[1], names[0], names[0])
    for spec in (ff, bp, untrained):
        record = json.loads(spec.selection)
        assert len(spec.selection) < 8000  # an MLflow tag value
        assert {"procedure", "criterion", "search_space", "budget", "tuning_splits"} <= set(record)
        assert all(s[0] in DATASETS.names("tune-*") for s in record["tuning_splits"])
        chosen = record["chosen"]
        assert ("criterion" in chosen) == (spec is not untrained)
        assert not (spec is untrained and set(chosen) & set(TRAINING_KEYS))
        for key, value in chosen.items():
            if key != "criterion":
                assert spec.defaults[key] == value, (spec.name, key)
        spec.validate(dict(spec.defaults))
    # the control is the ff preset's network: every hyperparameter it has but the rule
    assert not set(untrained.defaults) & set(TRAINING_KEYS)
    for key, value in untrained.defaults.items():
        assert ff.defaults[key] == value, key
    assert json.loads(untrained.selection)["control_of"] == names[0]


def test_a_tuned_run_logs_the_selection_behind_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    name = f"untrained-{tuned_objectives()[0]}-mlp-tuned"  # zero steps: a fast sweep
    args = ["run", "-d", name, "--dataset", "wine", "--seeds", "1", "--no-progress"]
    assert main([*args, "--experiment", "tuned", "--tracking-uri", uri]) == 0
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("tuned")
    runs = client.search_runs([exp.experiment_id])
    runs = [r for r in runs if r.data.params.get(schema.PARAM_DETECTOR) == name]
    assert len(runs) == 3
    for run in runs:
        assert run.data.tags[schema.TAG_SELECTION] == DETECTORS.get(name).selection
        widths = json.loads(run.data.tags[schema.TAG_SELECTION])["chosen"]["widths"]
        assert run.data.params["hp.widths"] == str(widths)


# ---- stage 2: the one-class tricks on top of a base configuration ---------------------------
TINY_TRICKS = {"tanh": {"activation": "tanh"}, "no-bias": {"bias": False}, "wide": {"widths": [16]}}


def test_the_trick_grid_skips_what_a_base_already_is_and_widths_on_the_default():
    base = {"optimizer": "sgd", "lr": 1e-2, "widths": [1024, 1024], "max_steps": 240}
    default = selection.grid()[0]
    rows = selection.trick_grid("ff-hb-svdd-mlp", base, default)
    names = [(b, t) for b, t, _ in rows]
    cheap = ["none", "tanh", "pretrain", "ensemble-3"]  # no-bias: the svdd default already
    assert names == [("default", t) for t in cheap] + [
        ("chosen", t) for t in [*cheap, "wide", "deep"]
    ]
    assert all(c == {**base, **selection.TRICKS.get(t, {})} for b, t, c in rows if b == "chosen")
    goodness = [t for b, t, _ in selection.trick_grid("bp-goodness-mlp", base, default)]
    assert goodness.count("no-bias") == 2
    # a base that already uses a trick is not tried with it again
    tanh = [
        t
        for b, t, _ in selection.trick_grid(
            "ff-hb-svdd-mlp", {**base, "activation": "tanh"}, default
        )
        if b == "chosen"
    ]
    assert "tanh" not in tanh


def test_stage_two_reads_no_label_and_keeps_stage_one_unless_a_trick_beats_it(monkeypatch):
    monkeypatch.setattr(selection, "TRICKS", TINY_TRICKS)
    monkeypatch.setattr(selection, "WIDTH_TRICKS", ("wide",))
    splits = _splits()
    default = {"optimizer": "sgd", "lr": 1e-2, "widths": [8, 4], "max_steps": 4}
    first = selection.select(splits, [default], ("goodness",), ("ff",))
    stage1 = first["chosen"]
    record = stage1["goodness"]["ff"]
    result = selection.select_tricks(splits, stage1, default)
    # the rows without a trick taken from stage 1's candidates are the ones trained again
    assert selection.select_tricks(splits, stage1, default, 0, None, first["candidates"]) == result
    rows = result["tricks"]["goodness"]["ff"]
    assert [(r["base"], r["trick"]) for r in rows] == [
        ("default", "none"), ("default", "tanh"), ("default", "no-bias"),
        ("chosen", "none"), ("chosen", "tanh"), ("chosen", "no-bias"), ("chosen", "wide"),
    ]  # fmt: skip
    assert rows[3]["criterion"] == record["criterion"]  # the stage-1 choice, recomputed
    best = max((r for r in rows if r["trick"] != "none"), key=lambda r: r["criterion"])
    expect = record if best["criterion"] <= record["criterion"] else best
    got = result["chosen"]["goodness"]["ff"]
    assert got == {k: v for k, v in expect.items() if k not in ("base", "trick", "per_set")}
    # no label read: the same rows and choice with the test labels shuffled or removed
    rng = np.random.default_rng(0)
    shuffled = [dataclasses.replace(s, y_test=rng.permutation(s.y_test)) for s in splits]
    removed = [
        dataclasses.replace(s, X_test=s.X_test[:0], y_test=s.y_test[:0], test_idx=s.test_idx[:0])
        for s in splits
    ]
    assert selection.select_tricks(shuffled, stage1, default) == result
    assert selection.select_tricks(removed, stage1, default) == result
    # a stage-1 criterion no trick can beat is kept, one every trick beats is not
    for value, kept in ((1.5, True), (-1.0, False)):
        high = {"goodness": {"ff": {**record, "criterion": value}}}
        got = selection.select_tricks(splits, high, default)["chosen"]["goodness"]["ff"]
        assert (got == high["goodness"]["ff"]) == kept
