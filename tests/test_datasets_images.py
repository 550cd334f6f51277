"""The image protocol through torchvision's real classes, on tiny files written here."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from torchvision import datasets as tvd

from datasets import DATASETS, DatasetError, Split
from datasets.images import CIFAR10, FASHION_MNIST, MNIST, ImageSource, load_image_split
from datasets.preprocessing import global_contrast_normalise
from datasets.validation import validate_split

N_TRAIN, N_TEST = 50, 30


def _labels(n: int) -> np.ndarray:
    return np.arange(n) % 10


def _images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random uint8 images whose contrast grows with the label, so class statistics differ."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, *shape))
    gain = (1 + _labels(n)).reshape(-1, *[1] * len(shape)) / 10
    return np.clip(128 + (base - 128) * gain, 0, 255).astype(np.uint8)


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = {1: 0x0801, 3: 0x0803}[array.ndim]
    dims = b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes())


def _write_mnist_like(root: Path, folder: str) -> dict[str, np.ndarray]:
    """Uncompressed IDX files where torchvision's MNIST/FashionMNIST read them."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {
        "train_x": _images(N_TRAIN, (28, 28), 1),
        "train_y": _labels(N_TRAIN),
        "test_x": _images(N_TEST, (28, 28), 2),
        "test_y": _labels(N_TEST),
    }
    for part, key in (("train", "train"), ("t10k", "test")):
        _write_idx(raw / f"{part}-images-idx3-ubyte", arrays[f"{key}_x"])
        _write_idx(raw / f"{part}-labels-idx1-ubyte", arrays[f"{key}_y"])
    return arrays


def _tiny_cifar(root: Path) -> tuple[type[tvd.CIFAR10], dict[str, np.ndarray]]:
    """CIFAR-format pickles in ``cifar-10-batches-py/``, and torchvision's CIFAR10 with their md5s.

    torchvision checks every batch against the md5s on the class, so the loader is given a
    subclass that differs only in those md5s; reading and decoding stay torchvision's own.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_x, test_x = _images(N_TRAIN, (3, 32, 32), 3), _images(N_TEST, (3, 32, 32), 4)
    batches = {f"data_batch_{i + 1}": (train_x[i::5], _labels(N_TRAIN)[i::5]) for i in range(5)} | {
        "test_batch": (test_x, _labels(N_TEST))
    }
    md5 = {}
    for name, (x, y) in batches.items():
        body = {"data": x.reshape(len(x), -1), "labels": y.tolist()}
        (folder / name).write_bytes(pickle.dumps(body))
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    meta_md5 = hashlib.md5((folder / "batches.meta").read_bytes()).hexdigest()
    cls = type(
        "CIFAR10",
        (tvd.CIFAR10,),
        {
            "url": "http://127.0.0.1:9/unused.tar.gz",
            "train_list": [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)],
            "test_list": [["test_batch", md5["test_batch"]]],
            "meta": {**tvd.CIFAR10.meta, "md5": meta_md5},
        },
    )
    # torchvision concatenates the batches in order: train row j of batch i is image i + 5j
    order = np.concatenate([np.arange(i, N_TRAIN, 5) for i in range(5)])
    arrays = {
        "train_x": train_x[order],
        "train_y": _labels(N_TRAIN)[order],
        "test_x": test_x,
        "test_y": _labels(N_TEST),
    }
    return cls, arrays


def _check_protocol(split: Split, arrays: dict[str, np.ndarray], k: int) -> None:
    validate_split(split)
    np.testing.assert_array_equal(split.train_idx, np.flatnonzero(arrays["train_y"] == k))
    np.testing.assert_array_equal(split.test_idx, np.arange(N_TEST))
    np.testing.assert_array_equal(split.y_test, (arrays["test_y"] != k).astype(int))
    assert split.X_train.dtype == split.X_test.dtype == np.float32
    assert split.X_train.shape[1:] == split.X_test.shape[1:] == split.feature_shape
    # GCN per sample, then min/max of the normalised *normal training* images
    normal = global_contrast_normalise(arrays["train_x"][split.train_idx].astype(np.float32))
    test = global_contrast_normalise(arrays["test_x"].astype(np.float32))
    normal, test = normal.reshape(split.X_train.shape), test.reshape(split.X_test.shape)
    lo, hi = normal.min(), normal.max()
    np.testing.assert_allclose(split.X_train, (normal - lo) / (hi - lo), atol=1e-5)
    np.testing.assert_allclose(split.X_test, (test - lo) / (hi - lo), atol=1e-5)
    assert split.X_train.min() == pytest.approx(0) and split.X_train.max() == pytest.approx(1)
    assert f"min={lo:.6g}, max={hi:.6g}" in split.provenance.preprocessing
    assert split.provenance.protocol == "deep-svdd-one-vs-rest"


@pytest.mark.parametrize(("source", "folder"), [(MNIST, "MNIST"), (FASHION_MNIST, "FashionMNIST")])
def test_mnist_like_protocol(tmp_path: Path, source: ImageSource, folder: str) -> None:
    arrays = _write_mnist_like(tmp_path, folder)
    splits = [load_image_split(source, tmp_path, k, seed=0) for k in (2, 7)]
    for k, split in zip((2, 7), splits, strict=True):
        _check_protocol(split, arrays, k)
        assert split.feature_shape == (1, 28, 28)
        assert set(split.provenance.sha256) == {
            f"{folder}/raw/{p}-{kind}-ubyte"
            for p in ("train", "t10k")
            for kind in ("images-idx3", "labels-idx1")
        }
    # statistics follow the normal class (no shared or hard-coded table)
    assert splits[0].provenance.preprocessing != splits[1].provenance.preprocessing


def test_cifar_protocol(tmp_path: Path) -> None:
    cls, arrays = _tiny_cifar(tmp_path)
    split = load_image_split(ImageSource("cifar10", cls), tmp_path, 4, seed=1)
    _check_protocol(split, arrays, 4)
    assert split.feature_shape == (3, 32, 32) and split.seed == 1
    # channels stay channels: torchvision's HWC is turned back into CHW exactly
    raw = arrays["train_x"][split.train_idx[0]].astype(np.float32)
    gcn = global_contrast_normalise(raw[None])[0]
    corr = np.corrcoef(gcn.ravel(), split.X_train[0].ravel())[0, 1]
    assert corr == pytest.approx(1, abs=1e-5)


def test_cifar_md5_mismatch_is_a_dataset_error(tmp_path: Path) -> None:
    cls, _ = _tiny_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"truncated")
    with pytest.raises(DatasetError, match=r"cifar10: .*127\.0\.0\.1:9"):
        load_image_split(ImageSource("cifar10", cls), tmp_path, 0, seed=0)


def test_registry_reads_torchvision_layout(tmp_path: Path) -> None:
    arrays = _write_mnist_like(tmp_path, "MNIST")
    split = DATASETS.get("mnist").loader(tmp_path, 5, 0)
    _check_protocol(split, arrays, 5)
    assert CIFAR10.files(tmp_path)[0] == tmp_path / "cifar-10-batches-py" / "data_batch_1"


@pytest.mark.parametrize("name", ["mnist-loo", "fashion-mnist-loo"])
def test_leave_one_class_out_images(tmp_path: Path, name: str) -> None:
    folder = {"mnist-loo": "MNIST", "fashion-mnist-loo": "FashionMNIST"}[name]
    arrays = _write_mnist_like(tmp_path, folder)
    split = validate_split(DATASETS.get(name).loader(tmp_path, "all-but-3", 0))
    assert split.dataset == name and split.normal_class == "all-but-3"
    # train: every training image but class 3; test: the whole test set, class 3 anomalous
    np.testing.assert_array_equal(split.train_idx, np.flatnonzero(arrays["train_y"] != 3))
    np.testing.assert_array_equal(split.y_test, (arrays["test_y"] == 3).astype(int))
    normal = global_contrast_normalise(arrays["train_x"][split.train_idx].astype(np.float32))
    lo, hi = normal.min(), normal.max()  # the Deep SVDD scaling, from these normals only
    np.testing.assert_allclose(split.X_train.reshape(normal.shape), (normal - lo) / (hi - lo),
                               atol=1e-5)
    assert split.provenance.protocol == "leave-one-class-out-deep-svdd-preprocessing"
    assert "every class but 3 (the anomaly)" in split.provenance.preprocessing
    with pytest.raises(ValueError, match="no class 10"):
        DATASETS.get(name).loader(tmp_path, "all-but-10", 0)
