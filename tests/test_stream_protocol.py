"""The online protocol: streams, test-then-train order, no label or future sample reaching the
learner, reproducibility, bad input, and stream / batch separation in the plan."""

import copy
import dataclasses

import numpy as np
import pytest

from baselines.streaming import RiverStreamDetector
from bench.detectors import DETECTORS, select_detectors
from bench.plan import plan_sweep
from bench.prequential import check_protocol, execute_stream, run_stream, windowed_auroc
from bench.suites import SUITES
from bench.trial import Trial
from bench.worker import execute
from datasets import load_split
from datasets.embedded import embedded_arrays
from datasets.errors import DatasetError
from datasets.stream import ANOMALY_SHARE, Stream
from ff.online import OnlineOneClassLearner

FF = "ff-online-hb-svdd-mlp"
ONLINE = [FF, "bp-online-hb-svdd-mlp", "bpl-online-hb-svdd-mlp"]


def _learners(d: int) -> dict:
    small = {"widths": [16, 8], "batch_size": 8, "warmup": 16}
    out = {m: OnlineOneClassLearner("hb-svdd", m, seed=3, **small) for m in ("ff", "bp", "bpl")}
    out |= {f"river-{n}": RiverStreamDetector(n, seed=3) for n in ("ocsvm", "lof", "loda")}
    out["river-hst"] = RiverStreamDetector("hst", seed=3, window_size=20)  # scores after a window
    return out


def test_streams_are_seeded_and_built_as_stated():
    a, b = load_split("stream-digits", 3, 0), load_split("stream-digits", 3, 1)
    assert np.array_equal(a.X, load_split("stream-digits", 3, 0).X)
    assert not np.array_equal(a.index, b.index)
    assert set(a.index[a.y == 0]) == set(b.index[b.y == 0])  # the same normals, reordered
    X, y, _, _ = embedded_arrays("digits")
    assert np.array_equal(a.X, X[a.index]) and np.array_equal(a.y, (y[a.index] != 3))
    assert (y == 3).sum() == (a.y == 0).sum()  # every row of the normal class
    assert a.y.mean() == pytest.approx(ANOMALY_SHARE, abs=0.01)
    for cls in (0, 1, 2):  # anomalies spread: one in each of m equal slices, in any seed
        for seed in range(4):
            w = load_split("stream-wine", cls, seed)
            m = int(w.y.sum())
            bounds = np.floor(np.arange(m + 1) * len(w) / m)
            slices = np.searchsorted(bounds, np.flatnonzero(w.y), side="right") - 1
            assert list(slices) == list(range(m))
    drift = load_split("stream-drift-digits", "2-3", 0)
    first, second = drift.segment == 0, drift.segment == 1
    assert np.all(np.diff(drift.segment) >= 0)  # a then b
    labels = y[drift.index]
    assert set(labels[first & (drift.y == 0)]) == {2}
    assert set(labels[second & (drift.y == 0)]) == {3}
    assert not set(labels[drift.y == 1]) & {2, 3}
    assert len(set(drift.index)) == len(drift)  # no row twice


def test_standardisation_uses_the_warm_up_only():
    s = load_split("stream-breast-cancer", "benign", 0)
    changed = dataclasses.replace(s, X=np.concatenate([s.X[:40], s.X[40:] * 100 + 7]))
    assert np.array_equal(s.standardised(40)[:40], changed.standardised(40)[:40])
    assert np.abs(s.standardised(40)[:40].mean(0)).max() < 1e-5


@pytest.mark.parametrize("name", ["ff", "bp", "bpl", "river-hst", "river-ocsvm", "river-lof",
                                  "river-loda"])
def test_a_batch_is_scored_before_it_is_learned(name):
    """Changing one row of a batch leaves the other rows' scores unchanged: they were scored
    from the state before the batch (learning first would let that row move them). Learning
    the batch does change the next scores, so the check is not vacuous."""
    X = np.random.default_rng(0).standard_normal((80, 6)).astype(np.float32)
    det = _learners(6)[name]
    det.start(X[:16])
    for s in range(16, 48, 8):
        det.score_learn(X[s : s + 8])
    batch = X[48:64]
    other = batch.copy()
    other[0] = 25.0
    a, b = copy.deepcopy(det), copy.deepcopy(det)
    first = a.score_learn(batch)
    alt = b.score_learn(other)
    for rule in first:
        assert np.array_equal(first[rule][1:], alt[rule][1:]), rule
    again = a.score_learn(batch)
    assert any(not np.allclose(first[r], again[r]) for r in first)


def _trial(detector: str, dataset: str, cls, seed: int = 0, **hp) -> Trial:
    return Trial(detector, dataset, cls, seed, {**DETECTORS.get(detector).defaults, **hp})


@pytest.mark.parametrize("detector", [FF, "river-loda"])
def test_no_label_or_future_sample_reaches_the_learner(detector):
    stream = load_split("stream-breast-cancer", "benign", 0)
    trial = _trial(detector, "stream-breast-cancer", "benign")
    spec = DETECTORS.get(detector)
    base = execute_stream(trial, spec, stream, "cpu", 0.0).scores
    cut = 32 + 16 * 10  # from the 11th batch on, the future is different
    future = dataclasses.replace(stream, X=np.concatenate([stream.X[:cut], stream.X[cut:][::-1]
                                                           * 3 + 1]))
    labels = dataclasses.replace(stream, y=1 - stream.y)
    changed = execute_stream(trial, spec, future, "cpu", 0.0).scores
    relabelled = execute_stream(trial, spec, labels, "cpu", 0.0).scores
    n = cut - 32
    assert np.array_equal(base[:n, 2:], changed[:n, 2:])  # every score column, stream order
    assert not np.allclose(base[n:, 2], changed[n:, 2])  # the change is seen once it arrives
    assert np.array_equal(base[:, 2:], relabelled[:, 2:])
    assert np.array_equal(base[:, 0], np.arange(32, len(stream)))  # stream order, warm-up out
    assert np.array_equal(base[:, 1], stream.y[32:])


@pytest.mark.parametrize("detector", [*ONLINE, "river-hst", "river-lof"])
def test_same_seed_same_prequential_auroc(detector):
    runs = [execute(_trial(detector, "stream-wine", 1, s), "cpu", None) for s in (0, 0, 1)]
    assert all(r.status == "FINISHED" for r in runs), [r.error for r in runs]
    assert runs[0].metrics["auroc"] == runs[1].metrics["auroc"]
    assert np.array_equal(runs[0].scores, runs[1].scores)
    assert not np.array_equal(runs[0].scores[:, -2], runs[2].scores[:, -2])  # another order


def test_bad_protocol_gets_a_clear_error():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        check_protocol(100, 10, 0)
    with pytest.raises(ValueError, match="66 samples, not more than the warm-up of 66"):
        check_protocol(66, 66, 8, "stream-wine")
    result = execute(_trial(FF, "stream-wine", 0, warmup=500), "cpu", None)
    assert result.status == "FAILED" and "not more than the warm-up of 500" in result.error
    result = execute(_trial("river-hst", "stream-wine", 0, batch_size=0), "cpu", None)
    assert result.status == "FAILED" and "batch_size must be an integer >= 1" in result.error
    with pytest.raises(ValueError, match="warmup must be a positive int"):
        OnlineOneClassLearner("hb-svdd", "ff", warmup=0)
    with pytest.raises(ValueError, match="unknown online objective"):
        OnlineOneClassLearner("sb-svdd", "ff")
    with pytest.raises(DatasetError, match="NaN"):
        Stream("s", 0, 0, np.array([[np.nan]]), np.zeros(1), np.zeros(1), np.zeros(1), None)
    mismatch = execute(_trial("pyod-knn", "stream-wine", 0), "cpu", None)
    assert mismatch.status == "FAILED" and "batch detectors on batch datasets" in mismatch.error


def test_bad_protocol_values_are_refused_before_anything_runs(capsys):
    from bench.cli import main

    base = ["run", "-d", FF, "--dataset", "stream-wine", "--dry-run"]
    assert main([*base, "--param", "batch_size=0"]) == 2
    assert main([*base, "--param", "warmup=0"]) == 2
    err = capsys.readouterr().err
    assert "batch_size" in err and "warmup must be a positive int" in err


def test_windowed_auroc_skips_one_class_windows():
    y = np.r_[np.zeros(100), np.tile([0, 1], 50)]
    w = windowed_auroc(y, y.astype(float), size=100, stride=50)
    assert 0 not in w and w[1] == 1.0 and w[2] == 1.0 and set(w) == {1, 2}


def test_stream_and_batch_detectors_stay_apart():
    assert not any(DETECTORS.get(n).inputs == "stream" for n in select_detectors(["*"]))
    stream_suite = SUITES.get("stream")
    chosen = select_detectors(list(stream_suite.detectors))
    assert {d for d in chosen} >= {*ONLINE, "river-hst", "river-ocsvm", "river-lof", "river-loda"}
    assert all(DETECTORS.get(n).inputs == "stream" for n in chosen)
    plan = plan_sweep([FF, "pyod-knn"], ["stream-wine", "wine"], stream_suite, [0], {})
    assert {(t.detector, t.dataset) for t in plan.trials} == {(FF, "stream-wine"),
                                                               ("pyod-knn", "wine")}
    assert {(s.detector, s.dataset) for s in plan.skipped} == {(FF, "wine"),
                                                                ("pyod-knn", "stream-wine")}


def test_run_stream_covers_every_sample_after_the_warm_up_once():
    X = np.random.default_rng(1).standard_normal((75, 4)).astype(np.float32)
    det = OnlineOneClassLearner("goodness", "ff", widths=[8], batch_size=10, warmup=5)
    rules, reading, _ = run_stream(det, X, 5, 10, "cpu")
    assert {len(v) for v in rules.values()} == {70} and det.n_steps == 7
    assert reading.peak_train_mem_bytes >= 0
