"""Tuning sets: the problems the label-free selection of the tuned networks runs on
(``bench.selection``), kept out of every suite a report states findings on.

Each is a one-class split with the embedded sets' protocol (stratified, seeded 70/30 split of
all rows, train = the normal rows of the train part, z-scored with the training normals'
statistics; :func:`datasets.embedded.stratified_split`). The generated sets are drawn from
the seed (a seed is another draw of the data, not only another split):

- ``iris-loo``: scikit-learn's iris (4-d), leave-one-class-out;
- ``blobs-loo``: 8 anisotropic Gaussian clusters in 32-d, leave-one-cluster-out;
- ``subspace-loo``: 10 image-like classes in 64-d, each near its own 5-d affine subspace
  through a non-negative, half-sparse template, leave-one-class-out;
- ``scale-ovr``: breast-cancer's structure: normals a correlated Gaussian in 20-d, anomalies
  the same with twice the spread along 3 random directions (35% of rows);
- ``moons-loo``: scikit-learn's two moons plus a blob (2-d), leave-one-component-out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from datasets.embedded import (
    Normality,
    embedded_arrays,
    held_out_class,
    loo_classes,
    stratified_split,
)
from datasets.split import Split

PREFIX = "tune-"  # a tuning set's registered name: tune-<set>
Generator = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _blobs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d, parts = 32, []
    for _ in range(8):
        mix = rng.normal(size=(d, d)) * rng.uniform(0.2, 1.0, size=d)
        parts.append(rng.normal(size=(200, d)) @ mix.T * 0.5 + rng.normal(size=d) * 2.0)
    return np.vstack(parts), np.repeat(np.arange(8), 200)


def _subspaces(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d, rank, parts = 64, 5, []
    for _ in range(10):
        template = np.abs(rng.normal(size=d)) * (rng.uniform(size=d) < 0.5)
        basis = rng.normal(size=(rank, d)) * 0.5
        noise = 0.2 * rng.normal(size=(180, d))
        parts.append(template + rng.normal(size=(180, rank)) @ basis + noise)
    return np.vstack(parts), np.repeat(np.arange(10), 180)


def _scale(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d, n_normal, n_anomaly = 20, 650, 350
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    normals = rng.normal(size=(n_normal, d)) @ mix.T
    z = rng.normal(size=(n_anomaly, d))
    q = np.linalg.qr(rng.normal(size=(d, 3)))[0]
    anomalies = (z + (z @ q) @ q.T) @ mix.T  # twice the spread along the 3 directions
    return np.vstack([normals, anomalies]), np.r_[np.zeros(n_normal), np.ones(n_anomaly)]


def _moons(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    moons, labels = make_moons(600, noise=0.08, random_state=int(rng.integers(2**31)))
    blob = rng.normal(size=(300, 2)) * 0.25 + [2.5, 1.5]
    return np.vstack([moons, blob]), np.r_[labels, np.full(300, 2)]


def _iris(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X, y, _, _ = embedded_arrays("iris")
    return X, y


# name -> (generator, salt of its random stream, leave-one-out classes or 0 for one-vs-rest)
_SETS: dict[str, tuple[Generator, int, int]] = {
    "iris-loo": (_iris, 0, 3),
    "blobs-loo": (_blobs, 1000, 8),
    "subspace-loo": (_subspaces, 2000, 10),
    "scale-ovr": (_scale, 3000, 0),
    "moons-loo": (_moons, 4000, 3),
}


def normal_classes(name: str) -> tuple[int | str, ...]:
    """The normal classes of tuning set ``name``: ``all-but-<k>`` names, or ``(0,)``."""
    n = _SETS[name][2]
    return loo_classes(n) if n else (0,)


def tuning_arrays(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All rows of tuning set ``name`` drawn for ``seed``: ``X`` (float64) and class ``y``."""
    generate, salt, _ = _SETS[name]
    X, y = generate(np.random.default_rng([seed, salt]))
    return np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.int64)


def load_tuning(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """The split of tuning set ``name`` for ``normal_class`` and ``seed``; ``data_dir`` unused."""
    generate, salt, n_classes = _SETS[name]
    X, y = tuning_arrays(name, seed)
    if n_classes:
        k = held_out_class(normal_class)
        rule = Normality(
            PREFIX + name, lambda v: v != k, "tuning-leave-one-class-out-stratified-70-30",
            f"train = the train part's rows of every class but {k} (the anomaly)",
        )
    else:
        rule = Normality(
            PREFIX + name, lambda v: v == 0, "tuning-one-vs-rest-stratified-70-30",
            "train = the normal rows of the train part",
        )
    if generate is _iris:
        import sklearn

        source = f"scikit-learn {sklearn.__version__} sklearn.datasets.load_iris"
    else:
        source = f"generated: numpy default_rng([seed, {salt}])"
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    return stratified_split(X, y, normal_class, seed, rule, source, {"X(float64)+y(int64)": digest})
