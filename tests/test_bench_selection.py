"""The label-free selection (bench.selection) and the tuned presets it wrote (ff/tuned.json):
no label changes a choice, the held-out cluster problem, the registry and the logged record."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from bench import selection, trick_selection
from bench.cli import main
from bench.detectors import DETECTORS
from core import schema
from datasets import DATASETS, load_split
from ff.hparams import DECLARABLE_RULES, TRAINING_KEYS, TRICKS_OFF
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
    rows = trick_selection.trick_grid("ff-hb-svdd-mlp", base, default)
    names = [(b, t) for b, t, _ in rows]
    cheap = ["none", "tanh", "pretrain", "ensemble-3"]  # no-bias: the svdd default already
    assert names == [("default", t) for t in cheap] + [
        ("chosen", t) for t in [*cheap, "wide", "deep"]
    ]
    tricks = trick_selection.TRICKS
    assert all(c == {**base, **tricks.get(t, {})} for b, t, c in rows if b == "chosen")
    goodness = [t for b, t, _ in trick_selection.trick_grid("bp-goodness-mlp", base, default)]
    assert goodness.count("no-bias") == 2
    # a base that already uses a trick is not tried with it again
    with_tanh = trick_selection.trick_grid(
        "ff-hb-svdd-mlp", {**base, "activation": "tanh"}, default
    )
    assert "tanh" not in [t for b, t, _ in with_tanh if b == "chosen"]


def _row(trick: str, criterion: float, rule: str = "sum", base: str = "chosen") -> dict:
    change = {"none": {}, "deep": {"widths": [8, 8, 8]}, "tanh": {"activation": "tanh"}}[trick]
    config = {"optimizer": "sgd", "widths": [8, 8], **change}
    return {"base": base, "trick": trick, **config, "score_layers": rule, "criterion": criterion}


def test_a_trick_is_kept_for_both_families_only_beyond_the_margin():
    stage1 = {f: {k: v for k, v in _row("none", 0.90).items() if k not in ("base", "trick")}
              for f in ("ff", "bp")}  # fmt: skip
    rows = {
        "ff": [_row("none", 0.90), _row("deep", 0.93, "zsum"), _row("tanh", 0.95),
               _row("tanh", 0.99, base="default")],
        "bp": [_row("none", 0.90), _row("deep", 0.92), _row("tanh", 0.86)],
    }  # fmt: skip
    # gains averaged over the families: deep +0.025, tanh (+0.05 - 0.04) / 2 = +0.005; the
    # default configuration's row is never a candidate
    chosen, gains = trick_selection.joint_choice(stage1, rows, margin=0.01)
    assert gains == {"deep": 0.025, "tanh": 0.005}
    assert chosen["ff"]["widths"] == chosen["bp"]["widths"] == [8, 8, 8]  # the same network
    assert (chosen["ff"]["score_layers"], chosen["bp"]["score_layers"]) == ("zsum", "sum")
    assert chosen["ff"]["criterion"] == 0.93 and "trick" not in chosen["ff"]
    # within the margin, or missing for a family: stage 1 stays, for both
    assert trick_selection.joint_choice(stage1, rows, margin=0.025)[0] == stage1
    rows["bp"] = rows["bp"][:1] + rows["bp"][2:]
    kept, gains = trick_selection.joint_choice(stage1, rows, margin=0.0)
    assert gains == {"tanh": 0.005} and kept["ff"]["activation"] == "tanh"


def test_stage_two_reads_no_label_and_its_margin_is_the_reseed_change(monkeypatch):
    monkeypatch.setattr(trick_selection, "TRICKS", TINY_TRICKS)
    monkeypatch.setattr(trick_selection, "WIDTH_TRICKS", ("wide",))
    splits = _splits()
    default = {"optimizer": "sgd", "lr": 1e-2, "widths": [8, 4], "max_steps": 4}
    first = selection.select(splits, [default], ("goodness",), ("ff", "bp"))
    stage1 = first["chosen"]
    result = trick_selection.select_tricks(splits, stage1, default)
    # the rows without a trick taken from stage 1's candidates are the ones trained again
    again = trick_selection.select_tricks(splits, stage1, default, 0, None, first["candidates"])
    assert again == result
    rows = result["tricks"]["goodness"]["ff"]
    assert [(r["base"], r["trick"]) for r in rows] == [
        ("default", "none"), ("default", "tanh"), ("default", "no-bias"),
        ("chosen", "none"), ("chosen", "tanh"), ("chosen", "no-bias"), ("chosen", "wide"),
    ]  # fmt: skip
    assert rows[3]["criterion"] == stage1["goodness"]["ff"]["criterion"]
    # the margin: the largest move of a stage-1 choice's criterion under another network seed
    margin = result["margin"]
    assert margin["reseeds"] == [1, 2]
    for family in ("ff", "bp"):
        record = stage1["goodness"][family]
        for s, change in zip((1, 2), margin["changes"]["goodness"][family], strict=True):
            tuning = selection.problems(splits, 0)
            top = selection.rank(f"{family}-goodness-mlp", [default], tuning, s)
            value = next(c.value for c in top if c.rule == record["score_layers"])
            assert change == pytest.approx(value - record["criterion"], abs=2e-6)
    moves = [abs(c) for m in margin["changes"]["goodness"].values() for c in m]
    assert margin["value"] == max(moves) > 0
    expect = trick_selection.joint_choice(stage1["goodness"], result["tricks"]["goodness"],
                                          margin["value"])  # fmt: skip
    assert (result["chosen"]["goodness"], result["gains"]["goodness"]) == expect
    # no label read: the same rows, margin and choice with the test labels shuffled or removed
    rng = np.random.default_rng(0)
    shuffled = [dataclasses.replace(s, y_test=rng.permutation(s.y_test)) for s in splits]
    removed = [
        dataclasses.replace(s, X_test=s.X_test[:0], y_test=s.y_test[:0], test_idx=s.test_idx[:0])
        for s in splits
    ]
    assert trick_selection.select_tricks(shuffled, stage1, default) == result
    assert trick_selection.select_tricks(removed, stage1, default) == result


def test_a_trick_at_its_off_value_leaves_the_trial_hash_and_logged_params_as_before():
    spec = DETECTORS.get("ff-hb-svdd-mlp")
    off = spec.resolve({})
    assert not set(TRICKS_OFF) & set(off)  # earlier runs' hashes stay valid
    assert spec.resolve(dict(TRICKS_OFF)) == off
    assert spec.resolve({"ensemble": 2})["ensemble"] == 2
    assert spec.resolve({"activation": "tanh"})["activation"] == "tanh"
    with pytest.raises(ValueError, match="no hyperparameter"):
        DETECTORS.get("pyod-knn").resolve({"ensemble": 1})
