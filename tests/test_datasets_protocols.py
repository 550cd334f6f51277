"""The three ADBench protocols: one-class (default, size-capped), ADBench's own, PyOD's."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from bench.suites import SUITES
from datasets import (
    ADBENCH_NATIVE,
    ADBENCH_PINNED,
    DATASETS,
    PYOD_BENCHMARK,
    DatasetError,
    Provenance,
    Split,
    load_split,
)
from datasets.adbench import PYOD_BENCHMARK_SETS, AdbenchFile, adbench_manifest
from datasets.preprocessing import min_max_per_feature
from datasets.tabular import (
    ADBENCH_MAX_TEST,
    ADBENCH_MAX_TRAIN,
    load_adbench,
    load_adbench_native,
    load_adbench_pyod,
)
from datasets.validation import validate_split

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no offline mirror at {SHARED}")
ENTRIES = {e.name: e for e in adbench_manifest()[1]}


def _mirrored(name: str) -> AdbenchFile:
    entry = ENTRIES[name]
    if not (SHARED / "adbench" / entry.file).is_file():
        pytest.skip(f"{entry.file} is not in the offline mirror")
    return entry


def _raw(entry: AdbenchFile, root: Path = SHARED) -> tuple[np.ndarray, np.ndarray]:
    with np.load(root / "adbench" / entry.file) as npz:
        return npz["X"], (npz["y"] != 0).astype(int)


def _toy_file(tmp_path: Path, n_normal: int, n_anomaly: int, d: int = 3) -> AdbenchFile:
    """A real ADBench-format file (``X``, ``y`` in an npz) and its correctly hashed entry."""
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.normal(size=(n_normal, d)), rng.normal(4, 1, size=(n_anomaly, d))])
    y = np.r_[np.zeros(n_normal, int), np.ones(n_anomaly, int)]
    order = rng.permutation(len(y))
    path = tmp_path / "adbench" / "98_toy.npz"
    path.parent.mkdir(exist_ok=True)
    np.savez(path, X=X[order], y=y[order])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return AdbenchFile(path.name, digest, path.stat().st_size, len(y), d, n_anomaly)


# --- ADBench's own protocol ---------------------------------------------------------------


def _adbench_generator(X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """ADBench's DataGenerator.generator (unsupervised, no noise), as published, on the
    global numpy RNG: the reference our loader must reproduce row for row."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        if len(y) < 1000:
            np.random.seed(seed)
            idx = np.random.choice(np.arange(len(y)), 1000, replace=True)
            X, y = X[idx], y[idx]
        if len(y) > 10000:
            np.random.seed(seed)
            idx = np.random.choice(np.arange(len(y)), 10000, replace=False)
            X, y = X[idx], y[idx]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, shuffle=True, stratify=y
        )
    finally:
        np.random.set_state(state)
    scaler = MinMaxScaler().fit(X_train)
    return {
        "X_train": scaler.transform(X_train),
        "X_test": scaler.transform(X_test),
        "y_train": y_train,
        "y_test": y_test,
    }


@needs_shared
@pytest.mark.parametrize(
    ("name", "seed"),
    [("adbench-wine", 1), ("adbench-cardiotocography", 2), ("adbench-magic-gamma", 3)],
)
def test_native_protocol_reproduces_adbench_generator(name: str, seed: int) -> None:
    """Small (resampled to 1000), middle and large (subsampled to 10000) sets."""
    entry = _mirrored(name)
    X, y = _raw(entry)
    want = _adbench_generator(X, y, seed)
    split = load_split(f"adbench-native-{entry.stem}", seed=seed, data_dir=SHARED)
    np.testing.assert_array_equal(split.y_train, want["y_train"])
    np.testing.assert_array_equal(split.y_test, want["y_test"])
    np.testing.assert_allclose(split.X_train, want["X_train"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split.X_test, want["X_test"], rtol=1e-5, atol=1e-6)
    assert split.contaminated and split.provenance.protocol == "adbench-native-70-30"
    assert split.resampled == (len(y) < 1000)
    assert len(split.y_train) + len(split.y_test) == min(max(len(y), 1000), 10000)


@needs_shared
def test_native_protocol_is_stratified_and_contaminated() -> None:
    entry = _mirrored("adbench-cardiotocography")
    X, y = _raw(entry)
    split = load_split("adbench-native-cardiotocography", seed=0, data_dir=SHARED)
    base = y.mean()
    assert split.y_train.sum() > 0, "ADBench's training part holds anomalies"
    assert abs(split.y_train.mean() - base) < 0.01 and abs(split.y_test.mean() - base) < 0.01
    assert len(split.test_idx) == math.ceil(0.3 * len(y))  # sklearn rounds the test part up
    assert np.intersect1d(split.train_idx, split.test_idx).size == 0
    np.testing.assert_array_equal(split.y_train, y[split.train_idx])
    assert split.X_train.min() == 0 and split.X_train.max() == 1  # MinMax on the training part
    assert "labels hidden" in split.provenance.preprocessing


# --- PyOD's benchmark protocol ------------------------------------------------------------

#: (samples, dimensions, outlier %) of PyOD's benchmark table (docs/tables/roc.csv)
PYOD_TABLE = {
    "cardio": (1831, 21, 9.6122),
    "letter": (1600, 32, 6.25),
    "lympho": (148, 18, 4.0541),
    "mnist": (7603, 100, 9.2069),
    "musk": (3062, 166, 3.1679),
    "optdigits": (5216, 64, 2.8758),
    "pendigits": (6870, 16, 2.2707),
    "pima": (768, 8, 34.8958),
    "satellite": (6435, 36, 31.6395),
    "satimage-2": (5803, 36, 1.2235),
    "shuttle": (49097, 9, 7.1511),
    "vertebral": (240, 6, 12.5),
    "vowels": (1456, 12, 3.4341),
}


def test_pyod_sets_are_the_odds_sets_of_pyods_table() -> None:
    by_file = {e.file: e for e in adbench_manifest()[1]}
    assert set(PYOD_BENCHMARK_SETS.values()) == set(PYOD_TABLE)
    for file, odds in PYOD_BENCHMARK_SETS.items():
        e = by_file[file]
        n, d, perc = PYOD_TABLE[odds]
        assert (e.n, e.d) == (n, d), file
        assert round(100 * e.anomalies / e.n, 4) == pytest.approx(perc, abs=1e-4), file
    assert set(PYOD_BENCHMARK) == {f"adbench-pyod-{by_file[f].stem}" for f in PYOD_BENCHMARK_SETS}


@needs_shared
@pytest.mark.parametrize("seed", [0, 4])
def test_pyod_protocol_reproduces_benchmark_script(seed: int) -> None:
    entry = _mirrored("adbench-vowels")
    X, y = _raw(entry)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=np.random.RandomState(seed)
    )
    scaler = StandardScaler().fit(X_train)  # pyod.utils.utility.standardizer
    split = load_split("adbench-pyod-vowels", seed=seed, data_dir=SHARED)
    np.testing.assert_array_equal(split.y_test, y_test)
    np.testing.assert_array_equal(split.y_train, y_train)
    np.testing.assert_allclose(split.X_train, scaler.transform(X_train), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split.X_test, scaler.transform(X_test), rtol=1e-5, atol=1e-5)
    assert split.contaminated and split.provenance.protocol == "pyod-benchmark-60-40"
    assert len(split.y_test) == math.ceil(0.4 * len(y))


def test_pyod_split_without_test_anomalies_is_rejected(tmp_path: Path) -> None:
    """Unstratified 60/40 on a set with one anomaly: some seed puts it in training."""
    entry = _toy_file(tmp_path, 40, 1)
    seeds = [s for s in range(20) if load_adbench_pyod(entry, tmp_path, 0, s).y_test.sum() == 0]
    assert seeds
    with pytest.raises(DatasetError, match="lacks normal or anomalous"):
        validate_split(load_adbench_pyod(entry, tmp_path, 0, seeds[0]))


# --- the one-class protocol and its size cap ----------------------------------------------


def test_one_class_split_unchanged_below_the_cap(tmp_path: Path) -> None:
    """Sets under the cap split exactly as before the cap existed (earlier results hold)."""
    entry = _toy_file(tmp_path, 120, 15)
    X, y = _raw(entry, tmp_path)
    for seed in (0, 3):
        split = validate_split(load_adbench(entry, tmp_path, 0, seed))
        normals = np.random.default_rng(seed).permutation(np.flatnonzero(y == 0))
        np.testing.assert_array_equal(split.train_idx, np.sort(normals[:84]))
        want_test = np.sort(np.r_[normals[84:], np.flatnonzero(y == 1)])
        np.testing.assert_array_equal(split.test_idx, want_test)
        assert not split.contaminated and not split.y_train.any()
        assert "no cap reached" in split.provenance.preprocessing
        assert split.provenance.protocol == "adbench-one-class-70-30"


def test_one_class_size_cap(tmp_path: Path) -> None:
    entry = _toy_file(tmp_path, 400, 100)
    X, y = _raw(entry, tmp_path)
    full = load_adbench(entry, tmp_path, 0, 5, max_train=None, max_test=None)
    capped = validate_split(load_adbench(entry, tmp_path, 0, 5, max_train=50, max_test=60))
    assert len(capped.train_idx) == 50 and len(capped.test_idx) == 60
    assert set(capped.train_idx) <= set(full.train_idx)  # a subsample of the same split
    assert set(capped.test_idx) <= set(full.test_idx)
    assert not y[capped.train_idx].any()
    # stratified: the test anomaly share is kept (100 of 220 test rows are anomalies)
    assert capped.y_test.sum() == round(60 * 100 / 220)
    np.testing.assert_array_equal(capped.y_test, y[capped.test_idx])
    prov = capped.provenance.preprocessing
    assert "training normals 280 -> 50" in prov and "test rows 220 -> 60" in prov
    # seeded: same seed, same rows; another seed, other rows
    again = load_adbench(entry, tmp_path, 0, 5, max_train=50, max_test=60)
    np.testing.assert_array_equal(again.test_idx, capped.test_idx)
    other = load_adbench(entry, tmp_path, 0, 6, max_train=50, max_test=60)
    assert not np.array_equal(other.train_idx, capped.train_idx)
    with pytest.raises(ValueError, match="at least 1"):
        load_adbench(entry, tmp_path, 0, 5, max_train=0)


def test_one_class_cap_keeps_a_rare_anomaly(tmp_path: Path) -> None:
    entry = _toy_file(tmp_path, 3000, 1)
    split = validate_split(load_adbench(entry, tmp_path, 0, 0, max_train=100, max_test=50))
    assert split.y_test.sum() == 1 and len(split.test_idx) == 50


@needs_shared
def test_registered_cap_on_a_large_set() -> None:
    entry = _mirrored("adbench-smtp")
    X, y = _raw(entry)
    split = load_split("adbench-smtp", seed=2, data_dir=SHARED)
    assert len(split.train_idx) == ADBENCH_MAX_TRAIN and len(split.test_idx) == ADBENCH_MAX_TEST
    n_normal = int((y == 0).sum())
    n_test = n_normal - round(0.7 * n_normal) + int(y.sum())
    assert split.y_test.sum() == round(ADBENCH_MAX_TEST * y.sum() / n_test)
    assert not y[split.train_idx].any()


# --- validation knows the protocol --------------------------------------------------------


def _tiny(**changes: object) -> Split:
    base = Split(
        dataset="toy",
        normal_class=0,
        seed=0,
        X_train=np.zeros((4, 2), np.float32),
        X_test=np.zeros((3, 2), np.float32),
        y_test=np.array([0, 1, 0]),
        train_idx=np.arange(4),
        test_idx=np.arange(4, 7),
        feature_shape=(2,),
        provenance=Provenance("toy-one-class", "here"),
        y_train=np.zeros(4, int),
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y_train": np.array([0, 1, 0, 0])}, "holds 1 anomalies, but protocol 'toy-one-class'"),
        ({"contaminated": True, "y_train": None}, "must record the hidden training labels"),
        ({"contaminated": True, "y_train": np.ones(4, int)}, "holds no normal sample"),
        ({"y_train": np.zeros(3, int)}, "y_train has 3 labels for 4 training rows"),
        ({"y_train": np.array([0, 2, 0, 0])}, "y_train holds labels [0, 2]"),
        ({"contaminated": True, "test_idx": np.arange(2, 5)}, "both the training and the test"),
    ],
)
def test_validation_is_protocol_aware(changes: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=r"toy \(normal class 0, seed 0\)") as err:
        validate_split(_tiny(**changes))
    assert message in str(err.value)


def test_validation_accepts_each_protocol() -> None:
    one_class = _tiny()
    contaminated = _tiny(contaminated=True, y_train=np.array([0, 1, 0, 0]))
    resampled = _tiny(contaminated=True, resampled=True, test_idx=np.array([0, 0, 5]))
    for split in (one_class, contaminated, resampled):
        assert validate_split(split) is split


# --- registry, suites, preprocessing, metric ----------------------------------------------


def test_registry_names_each_protocol_truthfully() -> None:
    for name in ADBENCH_PINNED:
        stem = name.removeprefix("adbench-")
        desc = DATASETS.get(name).description
        assert "one-class" in desc and "semi-supervised" not in desc
        assert "ADBench's protocol" in DATASETS.get(f"adbench-native-{stem}").description
    assert len(ADBENCH_NATIVE) == len(ADBENCH_PINNED) == 43
    assert "adbench-native-census" in DATASETS and "adbench-native-census" not in ADBENCH_NATIVE
    pyod = {n for n in DATASETS.names("adbench-pyod-*")}
    assert pyod == set(PYOD_BENCHMARK) and "adbench-pyod-cardio" in pyod
    assert "adbench-pyod-glass" not in DATASETS  # ADBench's glass is not ODDS's
    assert SUITES.get("adbench").datasets() == list(ADBENCH_PINNED)
    assert SUITES.get("adbench-native").datasets() == list(ADBENCH_NATIVE)
    assert SUITES.get("pyod-benchmark").datasets() == list(PYOD_BENCHMARK)
    desc = SUITES.get("adbench").description
    assert f"{ADBENCH_MAX_TRAIN} training normals" in desc and f"{ADBENCH_MAX_TEST} test" in desc


def test_unpinned_set_refused_under_every_protocol(tmp_path: Path) -> None:
    for name in ("adbench-census", "adbench-native-census"):
        with pytest.raises(DatasetError, match="no recorded sha256"):
            load_split(name, data_dir=tmp_path)


def test_min_max_per_feature_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    train = np.c_[rng.normal(size=(30, 2)), np.full(30, 3.0)]  # last feature constant
    test = rng.normal(size=(10, 3))
    scaler = MinMaxScaler().fit(train)
    got_train, got_test = min_max_per_feature(train, test)
    np.testing.assert_allclose(got_train, scaler.transform(train), atol=1e-6)
    np.testing.assert_allclose(got_test, scaler.transform(test), atol=1e-6)
    assert got_train.dtype == np.float32


def test_native_loader_on_a_written_file(tmp_path: Path) -> None:
    """A small set is resampled to 1000 rows: duplicates may sit in both parts."""
    entry = _toy_file(tmp_path, 90, 10)
    split = validate_split(load_adbench_native(entry, tmp_path, 0, 1))
    assert len(split.y_train) == 700 and len(split.y_test) == 300 and split.resampled
    share = np.r_[split.y_train, split.y_test].mean()  # of the 1000 resampled rows
    for part in (split.y_train, split.y_test):
        assert abs(part.mean() - share) < 1 / 300
    assert "100 rows resampled with replacement to 1000" in split.provenance.preprocessing


@needs_shared
def test_trial_logs_test_anomaly_share() -> None:
    """``anomaly_ratio`` (the test anomaly share, for reading AUPRC) under each protocol."""
    from bench.trial import Trial
    from bench.worker import execute

    for name in ("adbench-wine", "adbench-native-wine"):
        _mirrored("adbench-wine")
        split = load_split(name, seed=0, data_dir=SHARED)
        trial = Trial("pyod-iforest", name, 0, 0, {})
        result = execute(trial, "cpu", SHARED)
        assert result.status == "FINISHED", result.error
        assert result.metrics["anomaly_ratio"] == pytest.approx(split.y_test.mean())
        assert result.metrics["n_train"] == len(split.X_train)
        assert result.tags["bench.data.protocol"] == split.provenance.protocol
