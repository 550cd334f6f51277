"""Split invariants for every dataset available offline, the registry API and determinism."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from core.registry import UnknownNameError
from datasets import (
    ADBENCH_PINNED,
    DATASETS,
    DatasetError,
    DatasetSpec,
    Split,
    default_data_dir,
    load_split,
)
from datasets.adbench import adbench_manifest
from datasets.embedded import embedded_arrays, held_out_class, load_embedded
from datasets.preprocessing import standardise
from datasets.tabular import ADBENCH_MAX_TEST, ADBENCH_MAX_TRAIN

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EMBEDDED = [
    (n, c)
    for n in ("digits", "wine", "breast-cancer", "digits-loo", "wine-loo")
    for c in DATASETS.get(n).normal_classes
]
MIRRORED = sorted(
    e.name for e in adbench_manifest()[1] if e.sha256 and (SHARED / "adbench" / e.file).is_file()
)
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no offline mirror at {SHARED}")


def _raw_tabular(name: str, normal_class: int | str) -> tuple[np.ndarray, np.ndarray]:
    """Raw features and 0/1 anomaly labels (by file row) straight from the source."""
    if name.endswith("-loo"):  # leave-one-class-out: the held-out class is the anomaly
        X, y, _, _ = embedded_arrays(name.removesuffix("-loo"))
        return X, (y == held_out_class(normal_class)).astype(int)
    if name in ("digits", "wine", "breast-cancer"):
        X, y, class_names, _ = embedded_arrays(name)
        label = class_names.index(normal_class) if isinstance(normal_class, str) else normal_class
        return X, (y != label).astype(int)
    if name == "banknote":
        table = np.loadtxt(SHARED / "uci" / "data_banknote_authentication.txt", delimiter=",")
        return table[:, :4], (table[:, 4] != 0).astype(int)
    entry = next(e for e in adbench_manifest()[1] if e.name == name)
    with np.load(SHARED / "adbench" / entry.file) as npz:
        return npz["X"], (npz["y"] != 0).astype(int)


def _check_invariants(split: Split, name: str, normal_class: int | str, seed: int) -> None:
    X, is_anomaly = _raw_tabular(name, normal_class)
    assert (split.dataset, split.normal_class, split.seed) == (name, normal_class, seed)
    assert np.intersect1d(split.train_idx, split.test_idx).size == 0, "test sample in train"
    assert not is_anomaly[split.train_idx].any(), "anomaly in train"
    np.testing.assert_array_equal(split.y_test, is_anomaly[split.test_idx])
    assert split.X_train.dtype == split.X_test.dtype == np.float32
    assert split.feature_shape == (X.shape[1],)
    # rows follow the indices, scaled with statistics of the training normals only
    want_train, want_test = standardise(X[split.train_idx], X[split.test_idx])
    np.testing.assert_allclose(split.X_train, want_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split.X_test, want_test, rtol=1e-5, atol=1e-5)
    varying = X[split.train_idx].std(axis=0) > 0
    np.testing.assert_allclose(split.X_train[:, varying].mean(axis=0), 0, atol=1e-3)
    prov = split.provenance
    assert prov.protocol and prov.source and prov.preprocessing and prov.sha256
    assert all(len(h) == 64 for h in prov.sha256.values())


@pytest.mark.parametrize(("name", "normal_class"), EMBEDDED)
def test_embedded_invariants(name: str, normal_class: int | str) -> None:
    split = load_split(name, normal_class, seed=3)
    _check_invariants(split, name, normal_class, 3)
    _, is_anomaly = _raw_tabular(name, normal_class)
    # stratified 70/30: the test part holds ~30% of the rows and of the class that is one side
    # (the normal class in one-vs-rest, the held-out anomaly in leave-one-class-out)
    assert abs(len(split.test_idx) - 0.3 * len(is_anomaly)) <= 1
    side = int(name.endswith("-loo"))
    assert abs((split.y_test == side).sum() - 0.3 * (is_anomaly == side).sum()) <= 1
    assert len(split.train_idx) + (split.y_test == 0).sum() == (is_anomaly == 0).sum()


@pytest.mark.parametrize("name", ["digits", "wine"])
def test_leave_one_class_out_holds_out_one_class_and_keeps_the_others(name: str) -> None:
    loo = DATASETS.get(f"{name}-loo")
    _, y, class_names, _ = embedded_arrays(name)
    assert loo.normal_classes == tuple(f"all-but-{k}" for k in range(len(class_names)))
    for k, cls in enumerate(loo.normal_classes):
        split = load_split(f"{name}-loo", cls, seed=2)
        assert k not in set(y[split.train_idx])  # the anomaly never trains
        assert set(y[split.train_idx]) == set(range(len(class_names))) - {k}  # every other does
        np.testing.assert_array_equal(split.y_test, y[split.test_idx] == k)
        # the same stratified 70/30 of all rows as one-vs-rest: the test parts are one
        np.testing.assert_array_equal(split.test_idx, load_split(name, k, seed=2).test_idx)
        prov = split.provenance
        assert prov.protocol == "leave-one-class-out-stratified-70-30"
        assert f"every class but {k} ({class_names[k]!r}, the anomaly)" in prov.preprocessing


def test_leave_one_class_out_is_seeded() -> None:
    a, b = load_split("digits-loo", "all-but-4", seed=1), load_split("digits-loo", "all-but-4", 1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    c = load_split("digits-loo", "all-but-4", seed=2)
    assert not np.array_equal(a.test_idx, c.test_idx)


@pytest.mark.parametrize("bad", ["all-but-10", "all-but-x", "4", 4])
def test_leave_one_class_out_refuses_a_class_it_does_not_have(bad) -> None:
    with pytest.raises(ValueError, match="all-but-|no class 10"):
        DATASETS.get("digits-loo").loader(Path("."), bad, 0)


def test_breast_cancer_benign_is_normal() -> None:
    split = load_split("breast-cancer")
    _, y, names, _ = embedded_arrays("breast-cancer")
    assert split.normal_class == "benign"
    assert (y[split.train_idx] == names.index("benign")).all()


@needs_shared
def test_banknote_paper_protocol() -> None:
    split = load_split("banknote", seed=5, data_dir=SHARED)
    _check_invariants(split, "banknote", 0, 5)
    # stratified 60/20/20 of 1372 rows (762 genuine): test = 275 rows, ~20% of each class
    assert len(split.test_idx) == 275
    assert abs((split.y_test == 0).sum() - 0.2 * 762) <= 1
    assert abs(len(split.train_idx) - 0.6 * 762) <= 1
    assert "val part is not used" in split.provenance.preprocessing


@needs_shared
@pytest.mark.parametrize("name", MIRRORED)
def test_adbench_invariants(name: str) -> None:
    split = load_split(name, seed=1, data_dir=SHARED)
    _check_invariants(split, name, 0, 1)
    _, is_anomaly = _raw_tabular(name, 0)
    n_normal = int((is_anomaly == 0).sum())
    n_train, n_test = round(0.7 * n_normal), n_normal - round(0.7 * n_normal) + is_anomaly.sum()
    # 70/30 on the normals, every anomaly in test, unless the size cap applies
    assert len(split.train_idx) == min(n_train, ADBENCH_MAX_TRAIN)
    if n_test <= ADBENCH_MAX_TEST:
        assert (split.y_test == 0).sum() == n_normal - n_train
        assert split.y_test.sum() == is_anomaly.sum()
    else:  # stratified subsample: the test anomaly share is kept
        assert len(split.test_idx) == ADBENCH_MAX_TEST
        assert split.y_test.sum() == max(1, round(ADBENCH_MAX_TEST * is_anomaly.sum() / n_test))


def _fingerprint(split: Split) -> str:
    digest = hashlib.sha256()
    for a in (split.train_idx, split.test_idx, split.X_train, split.X_test, split.y_test):
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def test_splits_reproducible_across_processes() -> None:
    cases = [("digits", 3, 7), ("wine", 1, 2), ("breast-cancer", "benign", 5)]
    if SHARED.is_dir():
        cases += [("banknote", 0, 3), ("adbench-cardiotocography", 0, 4)]
    code = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[3])\n"
        "from datasets import load_split\n"
        "from test_datasets_splits import _fingerprint\n"
        "cases = json.loads(sys.argv[1])\n"
        "print(json.dumps([_fingerprint(load_split(n, c, s, data_dir=sys.argv[2])) "
        "for n, c, s in cases]))\n"
    )
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cases), str(SHARED), here],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = [_fingerprint(load_split(n, c, s, data_dir=SHARED)) for n, c, s in cases]
    assert theirs == ours


def test_seed_changes_tabular_split() -> None:
    a, b = load_split("digits", 0, seed=0), load_split("digits", 0, seed=1)
    assert not np.array_equal(a.test_idx, b.test_idx)
    np.testing.assert_array_equal(a.test_idx, load_split("digits", 0, seed=0).test_idx)


def test_repeated_loads_are_cached() -> None:
    load_split("digits", 4, seed=0)
    before = embedded_arrays.cache_info()
    load_split("digits", 5, seed=1)
    load_split("digits-loo", "all-but-5", seed=1)
    after = embedded_arrays.cache_info()
    assert after.misses == before.misses and after.hits > before.hits  # read once, then cached


def test_registry_names_and_specs() -> None:
    for name in (
        "digits",
        "breast-cancer",
        "wine",
        "banknote",
        "mnist",
        "fashion-mnist",
        "cifar10",
    ):
        assert isinstance(DATASETS.get(name), DatasetSpec)
    for name in ("adbench-cardio", "adbench-satimage-2", "adbench-magic-gamma", "adbench-wbc"):
        assert name in DATASETS
    _, files = adbench_manifest()
    one_class = [
        n
        for n in DATASETS.names("adbench-*")
        if not n.startswith(("adbench-native-", "adbench-pyod-"))
    ]
    assert len(one_class) == len(DATASETS.names("adbench-native-*")) == len(files) == 47
    assert set(ADBENCH_PINNED) == {e.name for e in files if e.sha256}
    assert "adbench-census" not in ADBENCH_PINNED and "adbench-census" in DATASETS
    for _, spec in DATASETS.items():
        assert spec.kind in ("tabular", "images", "stream")  # stream: the online protocol
        assert spec.normal_classes and spec.description
    assert DATASETS.get("mnist").kind == "images" and DATASETS.get("mnist").downloads
    assert not DATASETS.get("digits").downloads


def test_shipped_manifest_matches_mirror_manifest() -> None:
    source = SHARED / "adbench" / "MANIFEST.json"
    if not source.is_file():
        pytest.skip(f"no mirror manifest at {source}")
    theirs = json.loads(source.read_text())
    template, files = adbench_manifest()
    assert template == theirs["url_template"]
    assert [(e.file, e.sha256, e.n, e.d) for e in files] == [
        (f["file"], f["sha256"], f["n"], f["d"]) for f in theirs["files"]
    ]


def test_class_resolution_and_errors() -> None:
    assert load_split("digits").normal_class == 0
    assert load_split("digits", "7").normal_class == 7
    with pytest.raises(ValueError, match=r"digits.*11.*valid: 0, 1, 2"):
        load_split("digits", 11)
    with pytest.raises(UnknownNameError, match="digits"):
        load_split("digitz")


def test_unpinned_adbench_set_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"adbench-census.*no recorded sha256"):
        load_split("adbench-census", data_dir=tmp_path)
    assert not (tmp_path / "adbench").exists()


def test_a_dataset_whose_loader_exists_is_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = DatasetSpec("iris", partial(load_embedded, "iris"), (0, 1, 2), "tabular", False, "")
    monkeypatch.setitem(DATASETS._entries, "iris", spec)
    split = load_split("iris", 2, 0)
    assert split.feature_shape == (4,) and split.provenance.source.endswith("load_iris")


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("BENCH_DATA_DIR")
    assert "ff-oneclass-bench" in str(default_data_dir())
