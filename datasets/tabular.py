"""Downloaded tabular sets: the ADBench classical sets (sha256-pinned) and UCI banknote."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from datasets.download import ensure_file
from datasets.errors import DatasetError
from datasets.preprocessing import standardise
from datasets.split import Provenance, Split

_MANIFEST = Path(__file__).with_name("adbench_manifest.json")
ADBENCH_TRAIN_FRACTION = 0.7
BANKNOTE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00267/"
    "data_banknote_authentication.txt"
)
BANKNOTE_FILE = "data_banknote_authentication.txt"
_STANDARDISED = (
    "z-score per feature with mean/std of the training normals only (a feature constant "
    "there is centred, not scaled); float32"
)


@dataclass(frozen=True)
class AdbenchFile:
    """One ADBench classical dataset as recorded in the shipped manifest."""

    file: str
    sha256: str | None
    bytes: int | None
    n: int | None
    d: int | None
    anomalies: int | None

    @property
    def name(self) -> str:
        """``adbench-`` + file stem minus its number, lowercased, non-alphanumerics as ``-``."""
        stem = self.file.removesuffix(".npz").split("_", 1)[1]
        return "adbench-" + re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


@lru_cache(maxsize=1)
def adbench_manifest() -> tuple[str, tuple[AdbenchFile, ...]]:
    """The URL template (with the pinned commit) and every file of the shipped manifest."""
    raw = json.loads(_MANIFEST.read_text())
    return raw["url_template"], tuple(AdbenchFile(**f) for f in raw["files"])


def _stamp(path: Path) -> tuple[int, int] | None:
    """A cache key that changes when the file is replaced (mtime, size), or None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.flags.writeable = False
    return arrays


@lru_cache(maxsize=4)
def _adbench_arrays(
    entry: AdbenchFile, url: str, path: Path, stamp: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Verified ``X``, ``y`` and sha256 of one ADBench file, read once per process and version."""
    digest = ensure_file(entry.name, url, path, sha256=entry.sha256)
    with np.load(path, allow_pickle=False) as npz:
        X, y = npz["X"], npz["y"]
    if (
        X.shape != (entry.n, entry.d)
        or y.shape != (entry.n,)
        or int((y != 0).sum()) != entry.anomalies
    ):
        raise DatasetError(
            f"{entry.name}: {path} holds X {X.shape}, y {y.shape}, "
            f"{int((y != 0).sum())} anomalies; "
            f"the manifest says ({entry.n}, {entry.d}) with {entry.anomalies} anomalies. "
            "The shipped manifest (datasets/adbench_manifest.json) needs fixing."
        )
    return (*_frozen(X, y), digest)


def load_adbench(
    entry: AdbenchFile,
    data_dir: Path,
    normal_class: int,
    seed: int,
    *,
    url_template: str | None = None,
) -> Split:
    """ADBench semi-supervised split of ``<data_dir>/adbench/<file>``, downloaded if absent.

    The normals (``y == 0``) are split by ``seed`` 70/30 into train and test; every anomaly
    goes to test. Features are standardised with the training normals' statistics. A file
    without a recorded sha256 is refused rather than used unverified: record its hash in
    ``datasets/adbench_manifest.json`` first.
    """
    default_template, _ = adbench_manifest()
    url = (url_template or default_template).format(file=entry.file)
    path = Path(data_dir) / "adbench" / entry.file
    if entry.sha256 is None:
        raise DatasetError(
            f"{entry.name}: {entry.file} has no recorded sha256, so it cannot be verified and is "
            "not loaded. To use it, download it from "
            f"{url}, check it, and add its sha256, size and shape to "
            "datasets/adbench_manifest.json."
        )
    X, y, digest = _adbench_arrays(entry, url, path, _stamp(path))
    rng = np.random.default_rng(seed)
    normals = rng.permutation(np.flatnonzero(y == 0))
    n_train = round(ADBENCH_TRAIN_FRACTION * len(normals))
    train_idx = np.sort(normals[:n_train])
    test_idx = np.sort(np.concatenate([normals[n_train:], np.flatnonzero(y != 0)]))
    X_train, X_test = standardise(X[train_idx], X[test_idx])
    return Split(
        dataset=entry.name,
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(y[test_idx] != 0).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(X.shape[1],),
        provenance=Provenance(
            protocol="adbench-semi-supervised-70-30",
            source=url,
            sha256={entry.file: digest},
            preprocessing="normals split 70/30 by seed (numpy default_rng permutation), all "
            f"anomalies in test; {_STANDARDISED}",
        ),
    )


def _parse_banknote(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise DatasetError(
            f"banknote: {path} is not a comma-separated table of numbers ({err})."
        ) from None
    X, y = table[:, :4], table[:, -1]
    counts = [int((y == c).sum()) for c in (0, 1)]
    if table.shape != (1372, 5) or counts != [762, 610] or not np.isfinite(X).all():
        raise DatasetError(
            f"banknote: {path} has shape {table.shape} with {counts} rows of class 0/1; expected "
            "(1372, 5) with 762 genuine (0) and 610 forged (1) rows and finite features."
        )
    return X, y.astype(np.int64)


@lru_cache(maxsize=1)
def _banknote_arrays(
    url: str, path: Path, stamp: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Content-checked banknote table, read once per process and file version."""
    digest = ensure_file("banknote", url, path, check=_parse_banknote)
    return (*_frozen(*_parse_banknote(path)), digest)


def load_banknote(
    data_dir: Path, normal_class: int, seed: int, *, url: str = BANKNOTE_URL
) -> Split:
    """The FF one-class paper's protocol on ``<data_dir>/uci/<file>`` (downloaded if absent).

    Stratified, seeded 60/20/20 train/val/test split; the model trains on the genuine notes
    (class 0) of the train part and is tested on the whole test part. The val part is not used.
    """
    path = Path(data_dir) / "uci" / BANKNOTE_FILE
    X, y, digest = _banknote_arrays(url, path, _stamp(path))
    rows = np.arange(len(y))
    train, rest = train_test_split(rows, test_size=0.4, stratify=y, random_state=seed)
    _val, test = train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=seed)
    train_idx = np.sort(train[y[train] == normal_class])
    test_idx = np.sort(test)
    X_train, X_test = standardise(X[train_idx], X[test_idx])
    return Split(
        dataset="banknote",
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(y[test_idx] != normal_class).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(4,),
        provenance=Provenance(
            protocol="ff-paper-banknote-60-20-20",
            source=url,
            sha256={BANKNOTE_FILE: digest},
            preprocessing="stratified 60/20/20 train/val/test split (sklearn train_test_split, "
            "random_state=seed); train on the genuine notes (class 0) of the train part; the "
            f"val part is not used for training or selection; {_STANDARDISED}",
        ),
    )
