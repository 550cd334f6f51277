"""Downloaded tabular sets: the ADBench classical sets (sha256-pinned) and UCI banknote."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from datasets.download import ensure_file
from datasets.errors import DatasetError
from datasets.preprocessing import min_max_per_feature, standardise
from datasets.split import Provenance, Split

_MANIFEST = Path(__file__).with_name("adbench_manifest.json")
ADBENCH_TRAIN_FRACTION = 0.7
#: Size cap of the one-class protocol (``adbench-<name>``, the ``adbench`` suite): at most this
#: many training normals (a seeded uniform subsample) ...
ADBENCH_MAX_TRAIN = 2_000
#: ... and at most this many test rows (a seeded subsample stratified by label, so the test
#: anomaly share is kept). Chosen so that ``python -m bench run --suite adbench --all``
#: finishes on 2 cores (README, "ADBench protocols"); 20 of the 43 pinned sets are below both.
ADBENCH_MAX_TEST = 20_000
# ADBench's own protocol, as its data generator (adbench/datasets/data_generator.py) runs it
ADBENCH_NATIVE_TEST_SIZE = 0.3
ADBENCH_NATIVE_MIN_SAMPLES = 1000  # smaller sets are resampled with replacement up to this
ADBENCH_NATIVE_MAX_SAMPLES = 10_000  # larger sets are subsampled (without replacement) to this
# PyOD's 2019 benchmark (docs/benchmark.rst, notebooks/benchmark.py of yzhao062/pyod)
PYOD_TEST_SIZE = 0.4
#: ADBench files that hold the ODDS set of PyOD's benchmark table, with PyOD's name for it; the
#: manifest's shape equals the table's for each. Left out: arrhythmia (not in ADBench), glass
#: (ADBench 7 features, ODDS 9), ionosphere (32 against 33) and wbc (ADBench's WBC is 223 x 9,
#: ODDS's 378 x 30).
PYOD_BENCHMARK_SETS: dict[str, str] = {
    "6_cardio.npz": "cardio",
    "20_letter.npz": "letter",
    "21_Lymphography.npz": "lympho",
    "24_mnist.npz": "mnist",
    "25_musk.npz": "musk",
    "26_optdigits.npz": "optdigits",
    "28_pendigits.npz": "pendigits",
    "29_Pima.npz": "pima",
    "30_satellite.npz": "satellite",
    "31_satimage-2.npz": "satimage-2",
    "32_shuttle.npz": "shuttle",
    "39_vertebral.npz": "vertebral",
    "40_vowels.npz": "vowels",
}
BANKNOTE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00267/"
    "data_banknote_authentication.txt"
)
BANKNOTE_FILE = "data_banknote_authentication.txt"
#: sha256 of the UCI file (1372 rows), pinned like the ADBench files: a changed value is refused.
BANKNOTE_SHA256 = "564ac22b61d87388b1662adee2867e5d382aae78afb0bf5d6745c1a843174b8e"
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
        return "adbench-" + self.stem

    @property
    def stem(self) -> str:
        """The file stem minus its number, lowercased, non-alphanumerics as ``-``."""
        stem = self.file.removesuffix(".npz").split("_", 1)[1]
        return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


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


def _train_test_split(*arrays: Any, **options: Any) -> list[Any]:
    """scikit-learn's ``train_test_split``, imported on first use (not with the registry)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(*arrays, **options)


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


def _adbench_source(
    entry: AdbenchFile, data_dir: Path, url_template: str | None
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Verified ``X``, 0/1 ``y``, sha256 and URL of ``<data_dir>/adbench/<file>``."""
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
    return X, (y != 0).astype(np.int64), digest, url


def _adbench_split(
    name: str,
    entry: AdbenchFile,
    seed: int,
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    scaled: list[np.ndarray],
    source: tuple[str, str],
    protocol: str,
    preprocessing: str,
    **flags: bool,
) -> Split:
    X_train, X_test = scaled
    return Split(
        dataset=name,
        normal_class=0,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=y[test_idx],
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(X.shape[1],),
        provenance=Provenance(
            protocol=protocol,
            source=source[0],
            sha256={entry.file: source[1]},
            preprocessing=preprocessing,
        ),
        y_train=y[train_idx],
        **flags,
    )


def load_adbench(
    entry: AdbenchFile,
    data_dir: Path,
    normal_class: int,
    seed: int,
    *,
    url_template: str | None = None,
    max_train: int | None = ADBENCH_MAX_TRAIN,
    max_test: int | None = ADBENCH_MAX_TEST,
) -> Split:
    """The one-class protocol on ``<data_dir>/adbench/<file>`` (downloaded if absent).

    The normals (``y == 0``) are split by ``seed`` 70/30 into train and test; every anomaly
    goes to test, so the detector trains on normals only. The training part keeps at most
    ``max_train`` normals (the first of the seeded permutation: a uniform subsample) and the
    test part at most ``max_test`` rows (a seeded subsample stratified by label: the anomaly
    share is kept); ``None`` means no cap. Features are standardised with the training
    normals' statistics. A file without a recorded sha256 is refused rather than used
    unverified: record its hash in ``datasets/adbench_manifest.json`` first.
    """
    for cap in (max_train, max_test):
        if cap is not None and cap < 1:
            raise ValueError(f"{entry.name}: a size cap must be at least 1, got {cap}")
    X, y, digest, url = _adbench_source(entry, data_dir, url_template)
    rng = np.random.default_rng(seed)
    normals = rng.permutation(np.flatnonzero(y == 0))
    n_train = round(ADBENCH_TRAIN_FRACTION * len(normals))
    test_normals, anomalies = normals[n_train:], np.flatnonzero(y != 0)
    n_test = len(test_normals) + len(anomalies)
    capped = []
    if max_train is not None and n_train > max_train:
        capped.append(f"training normals {n_train} -> {max_train}")
        n_train = max_train
    if max_test is not None and n_test > max_test:
        keep = max(1, round(max_test * len(anomalies) / n_test))
        capped.append(f"test rows {n_test} -> {max_test}")
        test_normals = test_normals[: max_test - keep]  # still a seeded random order
        anomalies = rng.choice(anomalies, keep, replace=False)
    train_idx = np.sort(normals[:n_train])
    test_idx = np.sort(np.concatenate([test_normals, anomalies]))
    caps = f"size cap: at most {max_train} training normals, {max_test} test rows"
    return _adbench_split(
        entry.name,
        entry,
        seed,
        X,
        y,
        train_idx,
        test_idx,
        standardise(X[train_idx], X[test_idx]),
        (url, digest),
        "adbench-one-class-70-30",
        "one-class: normals split 70/30 by seed (numpy default_rng permutation), every anomaly "
        f"in test, training on normals only; {caps} (training: the first of the seeded "
        "permutation; test: seeded subsample stratified by label, keeping the anomaly share)"
        f"{'; capped here: ' + ', '.join(capped) if capped else '; no cap reached'}; "
        f"{_STANDARDISED}",
    )


def load_adbench_native(
    entry: AdbenchFile,
    data_dir: Path,
    normal_class: int,
    seed: int,
    *,
    url_template: str | None = None,
) -> Split:
    """ADBench's own (unsupervised) protocol, as ``DataGenerator.generator`` of ADBench runs it.

    Follows ``adbench/datasets/data_generator.py`` (Minqi824/ADBench) step by step, with a
    ``numpy.random.RandomState(seed)`` standing in for its global ``np.random.seed(seed)``, so
    the rows drawn are ADBench's own for the same seed: a set under 1000 rows is resampled
    with replacement to 1000 rows (``generate_duplicates``: copies of one row can land in
    train and test), a set over 10000 rows is subsampled to 10000; then a stratified 70/30
    ``train_test_split`` over all samples (training part contaminated with its share of the
    anomalies, labels hidden); MinMax scaling per feature fitted on the training part.
    Training rows keep the order ``train_test_split`` returns.
    """
    X, y, digest, url = _adbench_source(entry, data_dir, url_template)
    rows = np.arange(len(y))
    state = np.random.RandomState(seed)
    steps = []
    if len(rows) < ADBENCH_NATIVE_MIN_SAMPLES:
        state = np.random.RandomState(seed)
        rows = state.choice(rows, ADBENCH_NATIVE_MIN_SAMPLES, replace=True)
        steps.append(f"{len(y)} rows resampled with replacement to {len(rows)}")
    if len(rows) > ADBENCH_NATIVE_MAX_SAMPLES:
        state = np.random.RandomState(seed)
        rows = state.choice(rows, ADBENCH_NATIVE_MAX_SAMPLES, replace=False)
        steps.append(f"{len(y)} rows subsampled to {len(rows)}")
    train_pos, test_pos = _train_test_split(
        np.arange(len(rows)),
        test_size=ADBENCH_NATIVE_TEST_SIZE,
        shuffle=True,
        stratify=y[rows],
        random_state=state,
    )
    train_idx, test_idx = rows[train_pos], rows[test_pos]
    return _adbench_split(
        f"adbench-native-{entry.stem}",
        entry,
        seed,
        X,
        y,
        train_idx,
        test_idx,
        min_max_per_feature(X[train_idx], X[test_idx]),
        (url, digest),
        "adbench-native-70-30",
        "ADBench's protocol (its data_generator.py; numpy RandomState(seed) for its global "
        f"seed): {'; '.join(steps) or 'no resampling (1000 to 10000 rows)'}; stratified "
        "70/30 train_test_split over all samples; the detector fits the training part with "
        "its anomalies, labels hidden; MinMax per feature with the training part's min/max "
        "(a constant feature is shifted, not scaled); float32",
        contaminated=True,
        resampled=len(y) < ADBENCH_NATIVE_MIN_SAMPLES,
    )


def load_adbench_pyod(
    entry: AdbenchFile,
    data_dir: Path,
    normal_class: int,
    seed: int,
    *,
    url_template: str | None = None,
) -> Split:
    """PyOD's 2019 benchmark protocol (``notebooks/benchmark.py`` of yzhao062/pyod).

    A random, unstratified 60/40 ``train_test_split`` with ``RandomState(seed)`` (PyOD's
    trial ``i`` uses seed ``i``); the detector fits the whole training part, anomalies
    included (labels hidden); features z-scored with the training part's statistics
    (PyOD's ``standardizer``). A split whose test part lacks anomalies fails validation.
    """
    X, y, digest, url = _adbench_source(entry, data_dir, url_template)
    train_idx, test_idx = _train_test_split(
        np.arange(len(y)), test_size=PYOD_TEST_SIZE, random_state=np.random.RandomState(seed)
    )
    return _adbench_split(
        f"adbench-pyod-{entry.stem}",
        entry,
        seed,
        X,
        y,
        train_idx,
        test_idx,
        standardise(X[train_idx], X[test_idx]),
        (url, digest),
        "pyod-benchmark-60-40",
        "PyOD's benchmark protocol (notebooks/benchmark.py): unstratified 60/40 "
        "train_test_split with RandomState(seed); the detector fits the training part with "
        "its anomalies, labels hidden; z-score per feature with the mean/std of the whole "
        "training part (a constant feature is centred, not scaled); float32",
        contaminated=True,
    )


def _parse_banknote(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise DatasetError(
            f"banknote: {path} is not a comma-separated table of numbers ({err})."
        ) from None
    bad = np.argwhere(~np.isfinite(table))
    if len(bad):
        row, col = (int(i) for i in bad[0])
        raise DatasetError(
            f"banknote: {path} row {row + 1}, column {col + 1} is {table[row, col]} "
            f"({len(bad)} non-finite value(s) in all); every value must be a finite number."
        )
    X, y = table[:, :4], table[:, -1]
    counts = [int((y == c).sum()) for c in (0, 1)]
    if table.shape != (1372, 5) or counts != [762, 610]:
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
    digest = ensure_file("banknote", url, path, sha256=BANKNOTE_SHA256, check=_parse_banknote)
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
    train, rest = _train_test_split(rows, test_size=0.4, stratify=y, random_state=seed)
    _val, test = _train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=seed)
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
