"""Datasets shipped inside scikit-learn (no download): digits, wine, breast cancer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from datasets.preprocessing import STANDARDISED, standardise
from datasets.split import Provenance, Split

TEST_FRACTION = 0.3


def sklearn_loader(name: str) -> str:
    """The ``sklearn.datasets`` function that loads ``name`` (``breast-cancer`` ->
    ``load_breast_cancer``), so another of scikit-learn's sets needs only its registry entry."""
    return "load_" + name.replace("-", "_")


@cache
def embedded_arrays(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """``X`` (float64), ``y`` (int64), class names and the sha256 of ``X`` and ``y``'s bytes."""
    from sklearn import datasets as skdata

    bunch = getattr(skdata, sklearn_loader(name))()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    y = np.ascontiguousarray(bunch.target, dtype=np.int64)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    X.flags.writeable = y.flags.writeable = False
    return X, y, tuple(str(c) for c in bunch.target_names), digest


LOO_PREFIX = "all-but-"  # leave-one-class-out "normal class" names: all-but-<held-out class>
LOO_SUFFIX = "-loo"  # a leave-one-class-out dataset's name: <one-vs-rest name>-loo


def held_out_class(normal_class: int | str) -> int:
    """The held-out (anomalous) class index of a leave-one-class-out name ``all-but-<k>``."""
    text = str(normal_class)
    if not text.startswith(LOO_PREFIX) or not text[len(LOO_PREFIX) :].isdigit():
        raise ValueError(f"{normal_class!r} is not a leave-one-class-out class ({LOO_PREFIX}<k>)")
    return int(text[len(LOO_PREFIX) :])


def loo_classes(n_classes: int) -> tuple[str, ...]:
    """The leave-one-class-out class names of a dataset with ``n_classes`` classes."""
    return tuple(f"{LOO_PREFIX}{k}" for k in range(n_classes))


@dataclass(frozen=True)
class Normality:
    """Which labels are normal in a split, and how its provenance names that."""

    dataset: str  # the registered name (``digits``, ``digits-loo``)
    is_normal: Callable[[np.ndarray], np.ndarray]
    protocol: str
    train_rule: str  # what train holds, for the preprocessing text


def load_embedded(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """One-vs-rest split of a scikit-learn dataset; ``data_dir`` is unused.

    A stratified (by class), seeded 70/30 train/test split of all rows; train holds the
    training rows of ``normal_class`` (an index, or a class name such as ``"benign"``), test is
    the whole test part with label 1 for every other class. Standardised with the training
    normals' statistics.
    """
    _, _, class_names, _ = embedded_arrays(name)
    label = class_names.index(normal_class) if isinstance(normal_class, str) else normal_class
    rule = Normality(
        name, lambda y: y == label, "one-vs-rest-stratified-70-30",
        "train = normal-class rows of the train part",
    )
    return _split(name, normal_class, seed, rule)


def load_embedded_loo(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """Leave-one-class-out split (multi-modal normality; the "semantic anomaly" setting of
    Ahmed & Courville, AAAI 2020) of a scikit-learn dataset; ``data_dir`` is unused.

    ``normal_class`` is ``all-but-<k>``: every class but ``k`` is normal, class ``k`` is the
    anomaly. The same stratified, seeded 70/30 split of all rows as one-vs-rest; train holds
    the training rows of every other class, test the whole test part with label 1 for class
    ``k``; standardised with the training normals' statistics.
    """
    held_out = held_out_class(normal_class)
    _, _, class_names, _ = embedded_arrays(name)
    if held_out >= len(class_names):
        raise ValueError(f"{name} has {len(class_names)} classes; no class {held_out}")
    rule = Normality(
        name + LOO_SUFFIX, lambda y: y != held_out, "leave-one-class-out-stratified-70-30",
        f"train = the train part's rows of every class but {held_out} "
        f"({class_names[held_out]!r}, the anomaly)",
    )
    return _split(name, normal_class, seed, rule)


def _split(name: str, normal_class: int | str, seed: int, rule: Normality) -> Split:
    """The stratified, seeded 70/30 split of all rows of scikit-learn's ``name``."""
    import sklearn

    X, y, _, digest = embedded_arrays(name)
    loader = sklearn_loader(name)
    source = f"scikit-learn {sklearn.__version__} sklearn.datasets.{loader}"
    return stratified_split(
        X, y, normal_class, seed, rule, source, {f"{loader}:X(float64)+y(int64)": digest}
    )


def stratified_split(
    X: np.ndarray,
    y: np.ndarray,
    normal_class: int | str,
    seed: int,
    rule: Normality,
    source: str,
    sha256: dict[str, str],
) -> Split:
    """The stratified (by ``y``), seeded 70/30 split of all rows with ``rule`` deciding
    normality: train = the normal rows of the train part, test = the whole test part;
    z-scored with the training normals' statistics."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(len(y)), test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    train_idx = np.sort(train[rule.is_normal(y[train])])
    test_idx = np.sort(test)
    X_train, X_test = standardise(X[train_idx], X[test_idx])
    return Split(
        dataset=rule.dataset,
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(~rule.is_normal(y[test_idx])).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(X.shape[1],),
        provenance=Provenance(
            protocol=rule.protocol,
            source=source,
            sha256=sha256,
            preprocessing="stratified 70/30 train/test split of all rows (sklearn "
            f"train_test_split, random_state=seed); {rule.train_rule}; {STANDARDISED}",
        ),
    )
