"""Datasets shipped inside scikit-learn (no download): digits, wine, breast cancer."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np

from datasets.preprocessing import standardise
from datasets.split import Provenance, Split

TEST_FRACTION = 0.3
# scikit-learn's loader of each dataset (sklearn is imported when a split is loaded, so the
# registry loads without it)
_LOADERS = {"digits": "load_digits", "wine": "load_wine", "breast-cancer": "load_breast_cancer"}


@cache
def embedded_arrays(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """``X`` (float64), ``y`` (int64), class names and the sha256 of ``X`` and ``y``'s bytes."""
    from sklearn import datasets as skdata

    bunch = getattr(skdata, _LOADERS[name])()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    y = np.ascontiguousarray(bunch.target, dtype=np.int64)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    X.flags.writeable = y.flags.writeable = False
    return X, y, tuple(str(c) for c in bunch.target_names), digest


def load_embedded(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """One-vs-rest split of a scikit-learn dataset; ``data_dir`` is unused.

    A stratified (by class), seeded 70/30 train/test split of all rows; train holds the
    training rows of ``normal_class`` (an index, or a class name such as ``"benign"``), test is
    the whole test part with label 1 for every other class. Standardised with the training
    normals' statistics.
    """
    import sklearn
    from sklearn.model_selection import train_test_split

    X, y, class_names, digest = embedded_arrays(name)
    label = class_names.index(normal_class) if isinstance(normal_class, str) else normal_class
    train, test = train_test_split(
        np.arange(len(y)), test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    train_idx = np.sort(train[y[train] == label])
    test_idx = np.sort(test)
    X_train, X_test = standardise(X[train_idx], X[test_idx])
    loader = _LOADERS[name]
    return Split(
        dataset=name,
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(y[test_idx] != label).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(X.shape[1],),
        provenance=Provenance(
            protocol="one-vs-rest-stratified-70-30",
            source=f"scikit-learn {sklearn.__version__} sklearn.datasets.{loader}",
            sha256={f"{loader}:X(float64)+y(int64)": digest},
            preprocessing="stratified 70/30 train/test split of all rows (sklearn "
            "train_test_split, random_state=seed); train = normal-class rows of the train part; "
            "z-score per feature with mean/std of the training normals only (a feature constant "
            "there is centred, not scaled); float32",
        ),
    )
