"""Bad data is a clear DatasetError before any training."""

from __future__ import annotations

import dataclasses
import hashlib
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from datasets import DATASETS, DatasetError, Provenance, Split, load_split
from datasets.adbench import AdbenchFile
from datasets.tabular import load_adbench
from datasets.validation import validate_split


def _split(**changes: object) -> Split:
    rng = np.random.default_rng(0)
    base = Split(
        dataset="toy",
        normal_class=0,
        seed=0,
        X_train=rng.normal(size=(6, 3)).astype(np.float32),
        X_test=rng.normal(size=(4, 3)).astype(np.float32),
        y_test=np.array([0, 1, 0, 1]),
        train_idx=np.arange(6),
        test_idx=np.arange(6, 10),
        feature_shape=(3,),
        provenance=Provenance("toy", "here"),
    )
    return dataclasses.replace(base, **changes)


def test_valid_split_passes() -> None:
    split = _split()
    assert validate_split(split) is split


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"X_train": np.full((6, 3), np.nan, np.float32)}, "X_train holds NaN or infinite"),
        ({"X_test": np.full((4, 3), np.inf, np.float32)}, "X_test holds NaN or infinite"),
        (
            {"X_train": np.zeros((0, 3), np.float32), "train_idx": np.arange(0)},
            "no training samples",
        ),
        ({"y_test": np.array([0, 1, 0])}, "y_test has 3 labels for 4 test rows"),
        ({"train_idx": np.arange(5)}, "train_idx has 5 entries for 6 rows"),
        ({"test_idx": np.arange(6, 9)}, "test_idx has 3 entries for 4 rows"),
        ({"y_test": np.array([0, 2, 0, 1])}, "labels [0, 1, 2]"),
        ({"y_test": np.zeros(4, int)}, "lacks normal or anomalous"),
        ({"test_idx": np.arange(2, 6)}, "both the training and the test part"),
        ({"feature_shape": (4,)}, "expected (4,)"),
    ],
)
def test_invalid_split_is_rejected(changes: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=r"toy \(normal class 0, seed 0\)") as err:
        validate_split(_split(**changes))
    assert message in str(err.value)


def test_image_indices_may_overlap() -> None:
    """Image train/test indices index two different sets (torchvision train and test)."""
    images = np.zeros((6, 1, 2, 2), np.float32) + np.arange(6).reshape(-1, 1, 1, 1)
    split = _split(
        X_train=images,
        X_test=images[:4],
        train_idx=np.arange(6),
        test_idx=np.arange(4),
        feature_shape=(1, 2, 2),
    )
    assert validate_split(split) is split


def _adbench_file(tmp_path: Path, X: np.ndarray, y: np.ndarray, n: int) -> AdbenchFile:
    """An ADBench-format file in ``tmp_path/adbench`` and its (correctly hashed) manifest entry."""
    path = tmp_path / "adbench" / "99_toy.npz"
    path.parent.mkdir(exist_ok=True)
    np.savez(path, X=X, y=y)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return AdbenchFile(path.name, digest, path.stat().st_size, n, X.shape[1], int(y.sum()))


def _register_as_wine(monkeypatch: pytest.MonkeyPatch, entry: AdbenchFile) -> None:
    """Point the registered ``adbench-wine`` at ``entry`` for this test only."""
    spec = dataclasses.replace(DATASETS.get("adbench-wine"), loader=partial(load_adbench, entry))
    monkeypatch.setitem(DATASETS._entries, "adbench-wine", spec)


def test_load_split_rejects_nan_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    X = np.ones((20, 2)) + np.arange(20)[:, None]
    X[15, 1] = np.nan
    y = (np.arange(20) >= 16).astype(int)
    _register_as_wine(monkeypatch, _adbench_file(tmp_path, X, y, 20))
    with pytest.raises(DatasetError, match="NaN or infinite"):
        load_split("adbench-wine", data_dir=tmp_path)


def test_load_split_rejects_empty_normal_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _adbench_file(tmp_path, np.ones((5, 2)), np.ones(5, int), 5)
    _register_as_wine(monkeypatch, entry)
    with pytest.raises(DatasetError, match="no training samples"):
        load_split("adbench-wine", data_dir=tmp_path)


def test_image_class_absent_from_training_set(tmp_path: Path) -> None:
    from test_datasets_images import _write_mnist_like

    _write_mnist_like(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte").write_bytes(
        bytes.fromhex("00000801") + (50).to_bytes(4, "big") + bytes(50)  # every label 0
    )
    with pytest.raises(DatasetError, match=r"mnist \(normal class 3.*no training samples"):
        load_split("mnist", 3, data_dir=tmp_path)


def test_label_array_of_wrong_length(tmp_path: Path) -> None:
    entry = _adbench_file(tmp_path, np.ones((6, 2)), np.array([0, 0, 0, 1, 1]), 6)
    with pytest.raises(DatasetError, match=r"99_toy.npz holds X \(6, 2\), y \(5,\)"):
        load_adbench(entry, tmp_path, 0, 0, url_template="http://127.0.0.1:9/{file}")
