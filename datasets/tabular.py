"""The ADBench protocols on its classical sets (files: ``datasets.adbench``): one-class
(``adbench-<name>``), ADBench's own (``adbench-native-<name>``) and PyOD's 2019 benchmark
(``adbench-pyod-<name>``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.adbench import AdbenchFile, adbench_source
from datasets.preprocessing import STANDARDISED, min_max_per_feature, standardise
from datasets.split import Provenance, Split, train_test_split

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
    X, y, digest, url = adbench_source(entry, data_dir, url_template)
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
        f"{STANDARDISED}",
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
    X, y, digest, url = adbench_source(entry, data_dir, url_template)
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
    train_pos, test_pos = train_test_split(
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
    X, y, digest, url = adbench_source(entry, data_dir, url_template)
    train_idx, test_idx = train_test_split(
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
