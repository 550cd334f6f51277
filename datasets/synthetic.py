"""Synthetic workloads made in memory: no file, no download."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.split import Provenance, Split

MEMORY_DIM = 1024
MEMORY_TRAIN = 4096
MEMORY_TEST = 1024
MEMORY_ANOMALY_FRACTION = 0.1
MEMORY_SHIFT = 1.0


def load_memory_workload(data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """Gaussian normals N(0, I) in 1024-d; anomalies shifted by +1 on every coordinate.

    The workload of the memory-versus-depth study: large enough that a batch of 512
    fills a 1024-wide layer, small enough to build in a fraction of a second.
    """
    rng = np.random.default_rng([seed, 20240527])
    n_anomalies = int(MEMORY_TEST * MEMORY_ANOMALY_FRACTION)
    X_train = rng.standard_normal((MEMORY_TRAIN, MEMORY_DIM), dtype=np.float32)
    X_test = rng.standard_normal((MEMORY_TEST, MEMORY_DIM), dtype=np.float32)
    X_test[:n_anomalies] += MEMORY_SHIFT
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
            protocol="synthetic-gaussian-shift",
            source="generated: numpy default_rng([seed, 20240527])",
            preprocessing=f"none; anomalies = normals + {MEMORY_SHIFT} on every coordinate",
        ),
    )
