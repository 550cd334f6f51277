"""Peak training memory of FF and its twins at two depths, printed as one JSON line.

Run as ``python -m tests.memory_probe`` in a fresh process (``tests/test_memory_bounds.py``
does, once per allocator setting and meter), so the figures come from the process the
setting was made for. Batch training (``OneClassDetector.fit``) and one online update
(``OnlineOneClassLearner.score_learn``) are measured the way the memory suite measures: the
network is built before the meter starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import torch

import bench  # noqa: F401  (before torch, as the CLI and its workers import it)
import ff
from bench.meters import measure_fit, warm_up
from ff.online import OnlineOneClassLearner

WIDTH, BATCH = 256, 256  # every layer WIDTH wide, on WIDTH input features
DEPTHS = (2, 8)


def fit_run(mode: str, depth: int) -> Callable[[], object]:
    """Two plain-SGD steps of batch BATCH (SGD keeps no optimizer state), network built."""
    X = np.random.default_rng(0).standard_normal((2 * BATCH, WIDTH)).astype(np.float32)
    detector = ff.OneClassDetector(
        "hb-svdd", "mlp", mode, widths=[WIDTH] * depth, batch_size=BATCH, max_steps=2,
        optimizer="sgd", score_layers="last",
    )
    detector.build(X.shape[1:])
    return lambda: detector.fit(X)


def update_run(mode: str, depth: int) -> Callable[[], object]:
    """One online score-then-learn batch of BATCH samples (plain SGD), learner started."""
    X = np.random.default_rng(0).standard_normal((BATCH + 8, WIDTH)).astype(np.float32)
    learner = OnlineOneClassLearner(
        "hb-svdd", mode, widths=[WIDTH] * depth, optimizer="sgd", batch_size=BATCH, warmup=8
    )
    learner.start(X[:8])
    return lambda: learner.score_learn(X[8:])


RUNS = {"fit": (fit_run, ("ff", "bp", "bpl")), "online": (update_run, ("ff", "bp"))}


class _Saved:
    """One tensor autograd saved for backward; counts its storage while the graph holds it."""

    def __init__(self, graph: SavedBytes, tensor: torch.Tensor) -> None:
        self.graph, self.tensor = graph, tensor
        storage = tensor.untyped_storage()
        self.key = storage.data_ptr()
        graph.hold(self.key, storage.nbytes())

    def __del__(self) -> None:
        self.graph.release(self.key)


class SavedBytes:
    """The peak bytes of tensors autograd holds for backward passes, each storage once.

    An exact count of what the graphs keep, whatever the allocator does with the memory.
    """

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.live = self.peak = 0

    def hold(self, key: int, nbytes: int) -> None:
        if not self.refs.get(key):
            self.sizes[key] = nbytes
            self.live += nbytes
            self.peak = max(self.peak, self.live)
        self.refs[key] = self.refs.get(key, 0) + 1

    def release(self, key: int) -> None:
        self.refs[key] -= 1
        if not self.refs[key]:
            self.live -= self.sizes.pop(key)

    def __call__(self, run: Callable[[], object]) -> int:
        pack, unpack = (lambda t: _Saved(self, t)), (lambda s: s.tensor)
        with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            run()
        return self.peak


def graph_peaks() -> dict[str, int]:
    """The peak bytes autograd holds, per run, mode and depth (no meter, no allocator)."""
    return {f"{kind}.{mode}{depth}": SavedBytes()(make(mode, depth))
            for kind, (make, modes) in RUNS.items() for mode in modes for depth in DEPTHS}


def main() -> None:
    warm_up()
    peaks: dict[str, float] = {}
    meters = set()
    for kind, (make, modes) in RUNS.items():
        for mode in modes:
            for depth in DEPTHS:
                reading = measure_fit(make(mode, depth), "cpu")
                peaks[f"{kind}.{mode}{depth}"] = reading.peak_train_mem_bytes
                meters.add(reading.meter)
    print(json.dumps({"meters": sorted(meters), "peaks": peaks}))


if __name__ == "__main__":
    main()
