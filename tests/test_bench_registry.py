"""The registries, selection and the sweep plan (no training here)."""

import subprocess
import sys

import pytest

import ff
from bench.detectors import DETECTORS, select_detectors
from bench.plan import plan_sweep
from bench.suites import SUITES
from bench.trial import Trial
from core.registry import Registry, UnknownNameError

PYOD = ["ocsvm", "iforest", "knn", "lof", "ecod", "copod", "hbos", "pca", "autoencoder",
        "deepsvdd"]


def test_registry_refuses_duplicates_and_suggests_close_names():
    reg: Registry[int] = Registry("thing")
    reg.add("alpha-one", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("alpha-one", 2)
    with pytest.raises(UnknownNameError, match="alpha-one") as err:
        reg.get("alpha-on")
    assert err.value.suggestions == ["alpha-one"]


def test_select_keeps_registry_order_and_rejects_patterns_matching_nothing():
    reg: Registry[int] = Registry("thing")
    for i, name in enumerate(["b-x", "a-x", "a-y"]):
        reg.add(name, i)
    assert reg.select(["a-*", "b-x"]) == ["b-x", "a-x", "a-y"]
    with pytest.raises(UnknownNameError):
        reg.select(["c-*"])


def test_every_ff_variant_has_both_twins_a_control_and_all_pyod_baselines_exist():
    for objective in ff.OBJECTIVES:
        for arch in ff.ARCHS:
            core = f"{objective}-{arch}"
            spec = DETECTORS.get(f"ff-{core}")
            twin = DETECTORS.get(spec.twin)
            assert (twin.family, twin.objective, twin.arch) == ("bp", objective, arch)
            assert twin.twin == spec.name
            others = [DETECTORS.get(f"{p}-{core}") for p in ("bp", "bpl", "untrained")]
            for other in others:  # everything but the headline rule (and FF's update) shared
                for key, value in other.defaults.items():
                    if key != "score_layers":
                        assert spec.defaults[key] == value, (other.name, key)
            assert [o.family for o in others] == ["bp", "bpl", "ref"]
            nonorm = DETECTORS.get(f"bpl-{core}-nonorm")
            assert nonorm.defaults == {**DETECTORS.get(f"bpl-{core}").defaults, "normalise": False}
            assert spec.inputs == ("images" if arch == "cnn" else "any")
            if arch == "mlp":  # checkpointing every layer: bp-ckpt's settings but the segment
                each = DETECTORS.get(f"bp-ckpt-{core}-each")
                base = DETECTORS.get(f"bp-ckpt-{core}")
                assert each.defaults == {**base.defaults, "checkpoint_layers": 1}
                assert (each.family, each.twin, base.twin) == ("bp", spec.name, spec.name)
            else:
                assert f"bp-ckpt-{core}-each" not in DETECTORS
    for name in PYOD:
        assert DETECTORS.get(f"pyod-{name}").family == "pyod"
    assert DETECTORS.get("ref-input-norm").family == "ref"


def test_untrained_control_is_not_touched_by_training_overrides():
    embedded = SUITES.get("embedded")
    names = ["untrained-hb-svdd-mlp", "ff-hb-svdd-mlp"]
    few = plan_sweep(names, ["wine"], embedded, [0], {"epochs": 1}).trials
    many = plan_sweep(names, ["wine"], embedded, [0], {"epochs": 50}).trials
    keys = {t.detector: set() for t in few}
    for t in few + many:
        keys[t.detector].add(t.key)
    assert len(keys["untrained-hb-svdd-mlp"]) == 3  # wine's 3 classes, same trial for any epochs
    assert len(keys["ff-hb-svdd-mlp"]) == 6


def test_failing_test_detectors_are_plugins_of_the_tests_only(crashers, capsys):
    from bench.cli import main

    assert not any(n.startswith("test-") for n in DETECTORS)
    assert main(["list", "detectors", "--include", crashers]) == 0
    assert "test-crash" in capsys.readouterr().out
    assert select_detectors(["test-crash", "pyod-knn"]) == ["pyod-knn", "test-crash"]
    assert "test-stream-crash" not in select_detectors(["*"])  # a stream detector


def test_plan_skips_cnn_on_tabular_and_applies_known_overrides():
    plan = plan_sweep(["ff-hb-svdd-cnn", "ff-hb-svdd-mlp", "pyod-knn"], ["wine"],
                      SUITES.get("embedded"), range(2), {"epochs": 3})
    assert [(s.detector, s.dataset) for s in plan.skipped] == [("ff-hb-svdd-cnn", "wine")]
    assert len(plan.trials) == 2 * 3 * 2  # detectors x wine's classes x seeds
    by_detector = {t.detector: t.hparams for t in plan.trials}
    assert by_detector["ff-hb-svdd-mlp"]["epochs"] == 3
    assert "epochs" not in by_detector["pyod-knn"]
    with pytest.raises(ValueError, match="no selected detector"):
        plan_sweep(["pyod-knn"], ["wine"], SUITES.get("embedded"), [0], {"epochs": 3})


def test_memory_suite_grid_gives_one_trial_per_depth():
    suite = SUITES.get("memory")
    plan = plan_sweep(["ff-hb-svdd-mlp"], ["wine"], suite, [0], {})
    depths = sorted({len(t.hparams["widths"]) for t in plan.trials})
    assert depths == [2, 4, 8, 16, 32]


def test_trial_hash_is_stable_across_processes_and_sensitive_to_content():
    trial = Trial("pyod-knn", "wine", 1, 0, {"n_neighbors": 5})
    code = (
        "from bench.trial import Trial;"
        "print(Trial('pyod-knn', 'wine', 1, 0, {'n_neighbors': 5}).key)"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert other == trial.key
    assert Trial("pyod-knn", "wine", 1, 0, {"n_neighbors": 6}).key != trial.key
    assert Trial("pyod-knn", "wine", 1, 1, {"n_neighbors": 5}).key != trial.key
    assert trial.run_name == "pyod-knn/wine/1/s0"


def test_a_dataset_version_past_one_changes_the_trial_hash():
    import dataclasses

    (trial,) = plan_sweep(["pyod-knn"], ["adbench-wine"], SUITES.get("adbench"), [0], {}).trials
    assert trial.dataset_version == 2  # ADBench one-class sets: size caps
    assert trial.key != dataclasses.replace(trial, dataset_version=1).key
    (plain,) = plan_sweep(["pyod-knn"], ["breast-cancer"], SUITES.get("embedded"), [0], {}).trials
    assert plain.dataset_version == 1  # and then the hash is what it was before versions
    assert plain.key == Trial(plain.detector, plain.dataset, plain.normal_class, plain.seed,
                              plain.hparams, plain.detector_version, plain.suite).key


def test_skipped_pairs_print_in_one_short_line():
    from bench.plan import Skip
    from bench.sweeptext import pairs_text as _pairs_text

    grid = [Skip(d, s, "why") for d in ("a", "b", "c") for s in ("x", "y", "z", "w", "v")]
    assert _pairs_text(grid) == "detectors a, b, c on datasets x, y, z, w, ... (5 in all)"
    few = grid[:3]
    assert _pairs_text(few) == "a on x, a on y, a on z"
    ragged = grid[:11]  # not every pair of its detectors and datasets
    text = _pairs_text(ragged)
    assert text.startswith("a on x, a on y") and text.endswith("and 3 more (in the summary run)")


def test_written_out_pyod_defaults_are_the_installed_pyods():
    """The registry lists PyOD's defaults without importing PyOD; they must be PyOD's own."""
    from baselines.pyod_detector import PYOD_DEFAULTS, estimator_class, pyod_defaults

    models = {spec.factory.args[0] for _, spec in DETECTORS.items() if spec.family == "pyod"}
    assert models == set(PYOD_DEFAULTS)  # every wrapped estimator is written out, no extra
    for model in models:
        assert pyod_defaults(estimator_class(model)) == PYOD_DEFAULTS[model], model


BAD_VALUES = [("epochs", 0), ("epochs", True), ("lr", -1.0), ("widths", []), ("nu", 1.5),
              ("lr_milestones", [9, 3]), ("warmup", 0), ("score_layers", "mean"),
              ("optimizer", "rmsprop"), ("normalise", 1)]


@pytest.mark.parametrize("name", [n for n, s in DETECTORS.items() if s.check is not None])
def test_registry_checks_refuse_what_building_refuses(name):
    """A detector's torch-free ``check`` (what the sweep runs before anything is imported)
    refuses exactly the values its constructor refuses."""
    spec = DETECTORS.get(name)
    for key, value in BAD_VALUES:
        if key not in spec.defaults:
            continue
        hp = spec.resolve({key: value})
        try:
            spec.build(0, "cpu", hp)
            built = None
        except (ValueError, TypeError) as exc:
            built = exc
        try:
            spec.check(hp)
            checked = None
        except (ValueError, TypeError) as exc:
            checked = exc
        assert (built is None) == (checked is None), (key, value, built, checked)
    spec.check(dict(spec.defaults))  # the defaults pass


def _dry_run(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bench", "run", "--all", "--dry-run", *args],
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def _planned(text: str) -> set[str]:
    return {line.split()[1].split("/")[0] for line in text.splitlines()
            if len(line.split()) > 1 and line.split()[1].count("/") == 3}


def test_default_suite_keeps_its_controls_and_leaves_the_extras_to_embedded_extra():
    default = _dry_run()
    planned = _planned(default)
    datasets = {line.split()[1].split("/")[1] for line in default.splitlines()
                if len(line.split()) > 1 and line.split()[1].count("/") == 3}
    assert {"digits-loo", "wine-loo", "digits", "breast-cancer", "wine"} == datasets
    assert "ref-input-norm" in planned and f"untrained-{'hb-svdd'}-mlp" in planned
    assert {f"{f}-goodness-mlp" for f in ("ff", "bp", "bpl", "untrained")} <= planned
    excluded = {d for d in DETECTORS.names()
                if SUITES.get("embedded").excludes(d) and DETECTORS.get(d).inputs != "images"}
    assert not planned & excluded
    twins = {d for d in excluded if d.startswith(("bp-ckpt-", "bp-accum-"))}
    assert {"bp-ckpt-goodness-mlp", "bp-accum-hb-svdd-mlp"} <= twins  # the memory suite's
    assert {"bp-ckpt-goodness-mlp", "bp-accum-hb-svdd-mlp"} <= _planned(
        _dry_run("--suite", "memory"))
    extras = excluded - twins
    assert {"bpl-hb-svdd-mlp-nonorm", "dsvdd-hb-svdd-mlp", "pyod-deepsvdd"} <= extras
    # the one pair known not to work is skipped with its reason, not run to fail
    assert "non-finite scores): pyod-pca on digits-loo" in default
    assert extras <= _planned(_dry_run("--suite", "embedded-extra"))


def test_embedded_budget_binds_only_on_leave_one_class_out():
    from bench.suites import EMBEDDED_MAX_STEPS
    from datasets import load_split

    batch = DETECTORS.get("ff-goodness-mlp").defaults["batch_size"]
    epochs = DETECTORS.get("ff-goodness-mlp").defaults["epochs"]
    for name, cls in [("digits", 1), ("breast-cancer", "benign"), ("wine", 0)]:
        steps = -(-len(load_split(name, cls).X_train) // batch) * epochs
        assert steps <= EMBEDDED_MAX_STEPS, name  # one-vs-rest trains its full epochs
    loo = -(-len(load_split("digits-loo", "all-but-1").X_train) // batch) * epochs
    assert loo > EMBEDDED_MAX_STEPS
