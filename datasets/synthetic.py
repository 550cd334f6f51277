"""Synthetic workloads made in memory: no file, no download."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.split import Provenance, Split

MEMORY_DIM = 1024
MEMORY_TRAIN = 4096
MEMORY_TEST = 1024
MEMORY_ANOMALY_FRACTION = 0.1
MEMORY_RANK = 32


def load_memory_workload(data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """Normals near a random 32-d subspace of 1024-d space; anomalies isotropic Gaussian.

    The workload of the memory-versus-depth study: large enough that a batch of 512
    fills a 1024-wide layer, small enough to build in a fraction of a second. Both
    classes have the same expected norm, so only the shape of the data tells them apart.
    """
    rng = np.random.default_rng([seed, 20240527])
    n_anomalies = int(MEMORY_TEST * MEMORY_ANOMALY_FRACTION)
    basis = rng.standard_normal((MEMORY_RANK, MEMORY_DIM)) / np.sqrt(MEMORY_RANK)

    def normals(n: int) -> np.ndarray:
        signal = rng.standard_normal((n, MEMORY_RANK)) @ basis
        return (0.95 * signal + 0.05 * rng.standard_normal((n, MEMORY_DIM))).astype(np.float32)

    X_train = normals(MEMORY_TRAIN)
    X_test = normals(MEMORY_TEST)
    X_test[:n_anomalies] = rng.standard_normal((n_anomalies, MEMORY_DIM))
    y_test = np.zeros(MEMORY_TEST, dtype=np.int64)
    y_test[:n_anomalies] = 1
    return Split(
        dataset="synthetic-memory",
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=y_test,
        train_idx=np.arange(MEMORY_TRAIN),
        test_idx=np.arange(MEMORY_TRAIN, MEMORY_TRAIN + MEMORY_TEST),
        feature_shape=(MEMORY_DIM,),
        provenance=Provenance(
            protocol="synthetic-low-rank-vs-isotropic",
            source="generated: numpy default_rng([seed, 20240527])",
            preprocessing=f"none; normals rank-{MEMORY_RANK} Gaussian + 5% isotropic noise, "
            "anomalies isotropic N(0, I)",
        ),
    )


def subspace_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The problem defaults are chosen on, kept out of every suite: (train, test X, test y).

    300 training normals near a random 2-d subspace of R^8 (plus 0.1 noise, roughly
    standardised); a test set of 100 such normals and 100 isotropic Gaussian anomalies with
    the same per-feature scale (off the subspace, not a mean shift, which layers blind to
    input scale could not see).
    """
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(2, 8))
    sd = (rng.normal(size=(5000, 2)) @ mix).std(0)

    def normals(n: int) -> np.ndarray:
        return (rng.normal(size=(n, 2)) @ mix + 0.1 * rng.normal(size=(n, 8))) / sd

    train = normals(300)
    test_x = np.vstack([normals(100), rng.normal(size=(100, 8))])
    return train, test_x, np.r_[np.zeros(100), np.ones(100)]
