"""Suites: named selections of datasets (and, for studies, detectors and a parameter grid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.registry import Registry


@dataclass(frozen=True)
class Suite:
    """What ``--suite NAME`` runs.

    ``datasets`` is called when the suite is used (the ADBench list comes from the
    manifest). ``detectors`` are the patterns ``--all`` expands to. ``grid`` is a list of
    hyperparameter overrides; each detector runs once per grid point.
    """

    name: str
    description: str
    datasets: Callable[[], list[str]]
    detectors: tuple[str, ...] = ("*",)
    grid: tuple[dict[str, Any], ...] = field(default_factory=lambda: ({},))


SUITES: Registry[Suite] = Registry("suite")


def _fixed(*names: str) -> Callable[[], list[str]]:
    return lambda: list(names)


def _datasets_constant(name: str) -> Callable[[], list[str]]:
    """A list exported by ``datasets`` (built from the ADBench manifest), read when used."""

    def names() -> list[str]:
        import datasets

        return list(getattr(datasets, name))

    return names


MEMORY_DEPTHS = (2, 4, 8, 16, 32)
MEMORY_WIDTH = 1024
MEMORY_BATCH = 512
MEMORY_STEPS = 8

SUITES.add(
    "embedded",
    Suite(
        "embedded",
        "sklearn's digits, breast-cancer, wine; no download",
        _fixed("digits", "breast-cancer", "wine"),
    ),
)
SUITES.add(
    "paper", Suite("paper", "UCI banknote, the FF one-class paper's protocol", _fixed("banknote"))
)
SUITES.add(
    "images",
    Suite(
        "images",
        "MNIST, Fashion-MNIST, CIFAR-10 one-vs-rest (Deep SVDD)",
        _fixed("mnist", "fashion-mnist", "cifar10"),
    ),
)
SUITES.add(
    "adbench",
    Suite(
        "adbench",
        "every ADBench classical set with a pinned sha256, one-class protocol, size-capped "
        "(at most 2000 training normals, 20000 test rows; seeded)",
        _datasets_constant("ADBENCH_PINNED"),
    ),
)
SUITES.add(
    "adbench-native",
    Suite(
        "adbench-native",
        "the same sets under ADBench's own protocol (stratified 70/30, contaminated training, "
        "MinMax, 1000-10000 rows)",
        _datasets_constant("ADBENCH_NATIVE"),
    ),
)
SUITES.add(
    "pyod-benchmark",
    Suite(
        "pyod-benchmark",
        "PyOD's 2019 benchmark protocol (random 60/40, contaminated training, z-score) on the "
        "ODDS sets ADBench ships",
        _datasets_constant("PYOD_BENCHMARK"),
    ),
)
SUITES.add(
    "memory",
    Suite(
        "memory",
        f"peak training memory vs depth: {MEMORY_WIDTH}-wide MLP, depths {MEMORY_DEPTHS}, "
        f"batch {MEMORY_BATCH}, {MEMORY_STEPS} plain-SGD steps (no optimizer state), "
        "last-layer scores",
        _fixed("synthetic-memory"),
        detectors=tuple(
            f"{family}-{objective}-mlp"
            for objective in ("hb-svdd", "goodness")
            for family in ("ff", "bp", "bpl")
        ),
        grid=tuple(
            {
                "widths": [MEMORY_WIDTH] * depth,
                "batch_size": MEMORY_BATCH,
                "max_steps": MEMORY_STEPS,
                "optimizer": "sgd",
                "score_layers": "last",  # no scoring pass inside fit: fit holds training only
            }
            for depth in MEMORY_DEPTHS
        ),
    ),
)
SUITES.add(
    "stream",
    Suite(
        "stream",
        "the online protocol (prequential, test-then-train): embedded sets and small ADBench "
        "sets streamed in a random order, and a drift stream (digits, normal class a then b); "
        "FF online learner, its two backprop twins, river's streaming detectors",
        _datasets_constant("STREAMS"),
        detectors=("*-online-*", "river-*"),
    ),
)
