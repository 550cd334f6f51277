"""Image one-vs-rest (Ruff et al., Deep SVDD, ICML 2018) through torchvision's dataset classes."""

from __future__ import annotations

import fcntl
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets as tvd

from datasets import download
from datasets.embedded import LOO_SUFFIX, Normality, held_out_class
from datasets.errors import DatasetError
from datasets.preprocessing import global_contrast_normalise, min_max
from datasets.split import Provenance, Split

_MNIST_FILES = tuple(
    f"{part}-{kind}-ubyte" for part in ("train", "t10k") for kind in ("images-idx3", "labels-idx1")
)


@dataclass(frozen=True)
class ImageSource:
    """A torchvision dataset class (MNIST-like or CIFAR-like) behind a registry name."""

    name: str
    dataset_cls: type[tvd.VisionDataset]

    def urls(self) -> list[str]:
        """The URLs torchvision downloads from."""
        cls = self.dataset_cls
        if issubclass(cls, tvd.MNIST):
            return [m + f for f, _ in cls.resources for m in cls.mirrors]
        return [cls.url]

    def archive_dir(self, data_dir: Path) -> Path:
        """Where downloaded archives go; torchvision checks and unpacks them from there."""
        cls = self.dataset_cls
        return data_dir / cls.__name__ / "raw" if issubclass(cls, tvd.MNIST) else data_dir

    def files(self, data_dir: Path) -> list[Path]:
        """The files torchvision reads under ``data_dir`` (its own layout)."""
        cls = self.dataset_cls
        if issubclass(cls, tvd.MNIST):
            return [data_dir / cls.__name__ / "raw" / f for f in _MNIST_FILES]
        names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
        return [data_dir / cls.base_folder / f for f in names]


MNIST = ImageSource("mnist", tvd.MNIST)
FASHION_MNIST = ImageSource("fashion-mnist", tvd.FashionMNIST)
CIFAR10 = ImageSource("cifar10", tvd.CIFAR10)
N_CLASSES = 10  # every source above has ten classes


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """torchvision opens URLs without a timeout; bound every connect and read by ``seconds``."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


@contextmanager
def _download_lock(data_dir: Path, name: str) -> Iterator[None]:
    """Serialise torchvision downloads of one dataset across worker processes.

    torchvision writes straight to its final file names, so two workers fetching at once would
    corrupt each other's files; a read-only data directory (nothing to download) needs no lock.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(data_dir / f".{name}.lock", "a")  # noqa: SIM115 (held across the yield)
    except OSError:
        handle = None
    with handle or nullcontext():
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _as_nchw(dataset: tvd.VisionDataset) -> tuple[np.ndarray, np.ndarray]:
    data = (
        dataset.data.numpy() if isinstance(dataset.data, torch.Tensor) else np.asarray(dataset.data)
    )
    data = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    targets = np.asarray(dataset.targets, dtype=np.int64)
    return np.ascontiguousarray(data), targets


@lru_cache(maxsize=2)
def _raw_images(
    source: ImageSource, data_dir: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    """uint8 (N, C, H, W) train/test images and labels plus file hashes, read once per process."""
    try:
        with _download_lock(data_dir, source.name), _socket_timeout(download.TIMEOUT_S):
            train = source.dataset_cls(root=data_dir, train=True, download=True)
            test = source.dataset_cls(root=data_dir, train=False, download=True)
    except (RuntimeError, OSError) as err:
        expected = "\n  ".join(str(p) for p in source.files(data_dir))
        raise DatasetError(
            f"{source.name}: not found in the data directory {data_dir} and could not be "
            f"downloaded ({type(err).__name__}: {err}). Tried: {', '.join(source.urls())}. "
            "To place it by hand, download those files elsewhere and put them in "
            f"{source.archive_dir(data_dir)} (torchvision checks and unpacks them), or unpack "
            f"them yourself so that these files exist:\n  {expected}\n"
            "(set BENCH_DATA_DIR to use another data directory)."
        ) from None
    hashes = {
        p.relative_to(data_dir).as_posix(): download.sha256_file(p) for p in source.files(data_dir)
    }
    arrays = (*_as_nchw(train), *_as_nchw(test))
    for a in arrays:
        a.flags.writeable = False
    return (*arrays, hashes)


def load_image_split(source: ImageSource, data_dir: Path, normal_class: int, seed: int) -> Split:
    """Deep SVDD one-vs-rest split; torchvision downloads the data into ``data_dir`` if absent.

    Train: the training images of ``normal_class``. Test: the whole test set, label 1 for every
    other class. Each image is L1 global-contrast-normalised, then min-max scaled with the scalar
    min and max of the normalised training normals. ``seed`` does not change this split.
    """
    rule = Normality(source.name, lambda y: y == normal_class, "deep-svdd-one-vs-rest", "")
    return _image_split(source, data_dir, normal_class, seed, rule)


def load_image_loo_split(
    source: ImageSource, data_dir: Path, normal_class: int | str, seed: int
) -> Split:
    """Leave-one-class-out split (``normal_class`` = ``all-but-<k>``): train holds the training
    images of every class but ``k``, test the whole test set with label 1 for class ``k``. The
    Deep SVDD preprocessing of :func:`load_image_split`; ``seed`` does not change this split.
    """
    held_out = held_out_class(normal_class)
    if held_out >= N_CLASSES:
        raise ValueError(f"{source.name} has {N_CLASSES} classes; no class {held_out}")
    rule = Normality(
        source.name + LOO_SUFFIX, lambda y: y != held_out,
        "leave-one-class-out-deep-svdd-preprocessing",
        f"official train/test split; train = the training images of every class but "
        f"{held_out} (the anomaly); ",
    )
    return _image_split(source, data_dir, normal_class, seed, rule)


def _image_split(
    source: ImageSource, data_dir: Path, normal_class: int | str, seed: int, rule: Normality
) -> Split:
    """The official train/test split with ``rule`` deciding normality; its ``train_rule``
    opens the preprocessing text (empty for one-vs-rest, as before)."""
    train_x, train_y, test_x, test_y, hashes = _raw_images(source, Path(data_dir))
    train_idx = np.flatnonzero(rule.is_normal(train_y))
    test_idx = np.arange(len(test_y))
    (X_train, X_test), lo, hi = min_max(
        global_contrast_normalise(train_x[train_idx]), global_contrast_normalise(test_x)
    )
    return Split(
        dataset=rule.dataset,
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(~rule.is_normal(test_y)).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=tuple(train_x.shape[1:]),
        provenance=Provenance(
            protocol=rule.protocol,
            source=f"torchvision.datasets.{source.dataset_cls.__name__} "
            f"({', '.join(source.urls())})",
            sha256=hashes,
            preprocessing=f"{rule.train_rule}per-sample L1 global contrast normalisation, then "
            "min-max scaling "
            f"with min={lo:.6g}, max={hi:.6g} of the normalised training normals (test values "
            "may leave [0, 1]); float32 (N, C, H, W)",
        ),
    )
