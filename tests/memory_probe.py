"""Peak training memory of FF and its twins at two depths, printed as one JSON line.

Run as ``python -m tests.memory_probe`` in a fresh process (``tests/test_memory_bounds.py``
does, once per allocator setting and meter), so the figures come from the process the
setting was made for. Batch training (``OneClassDetector.fit``) and one online update
(``OnlineOneClassLearner.score_learn``) are measured the way the memory suite measures: the
network is built before the meter starts.
"""

from __future__ import annotations

import json

import numpy as np

import bench  # noqa: F401  (before torch, as the CLI and its workers import it)
import ff
from bench.meters import measure_fit, warm_up
from ff.online import OnlineOneClassLearner

WIDTH, BATCH = 256, 256  # every layer WIDTH wide, on WIDTH input features
DEPTHS = (2, 8)


def fit_peak(mode: str, depth: int) -> tuple[float, str]:
    """Peak of two plain-SGD steps of batch BATCH (SGD keeps no optimizer state)."""
    X = np.random.default_rng(0).standard_normal((2 * BATCH, WIDTH)).astype(np.float32)
    detector = ff.OneClassDetector(
        "hb-svdd", "mlp", mode, widths=[WIDTH] * depth, batch_size=BATCH, max_steps=2,
        optimizer="sgd", score_layers="last",
    )
    detector.build(X.shape[1:])
    reading = measure_fit(lambda: detector.fit(X), "cpu")
    return reading.peak_train_mem_bytes, reading.meter


def update_peak(mode: str, depth: int) -> tuple[float, str]:
    """Peak of one online score-then-learn batch of BATCH samples (plain SGD)."""
    X = np.random.default_rng(0).standard_normal((BATCH + 8, WIDTH)).astype(np.float32)
    learner = OnlineOneClassLearner(
        "hb-svdd", mode, widths=[WIDTH] * depth, optimizer="sgd", batch_size=BATCH, warmup=8
    )
    learner.start(X[:8])
    reading = measure_fit(lambda: learner.score_learn(X[8:]), "cpu")
    return reading.peak_train_mem_bytes, reading.meter


def main() -> None:
    warm_up()
    peaks: dict[str, float] = {}
    meters = set()
    for kind, probe, modes in (("fit", fit_peak, ("ff", "bp", "bpl")),
                               ("online", update_peak, ("ff", "bp"))):
        for mode in modes:
            for depth in DEPTHS:
                peaks[f"{kind}.{mode}{depth}"], meter = probe(mode, depth)
                meters.add(meter)
    print(json.dumps({"meters": sorted(meters), "peaks": peaks}))


if __name__ == "__main__":
    main()
