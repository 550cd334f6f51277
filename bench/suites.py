"""Suites: named selections of datasets (and, for studies, detectors and a parameter grid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from core.registry import Registry


@dataclass(frozen=True)
class Suite:
    """What ``--suite NAME`` runs.

    ``datasets`` is called when the suite is used (the ADBench list comes from the
    manifest). ``detectors`` are the patterns ``--all`` expands to, less those matching
    ``exclude``. ``grid`` is a list of hyperparameter overrides; each detector runs once per
    grid point.
    """

    name: str
    description: str
    datasets: Callable[[], list[str]]
    detectors: tuple[str, ...] = ("*",)
    grid: tuple[dict[str, Any], ...] = field(default_factory=lambda: ({},))
    exclude: tuple[str, ...] = ()
    skip: tuple[tuple[str, str, str], ...] = ()  # (detector glob, dataset glob, why)

    def excludes(self, detector: str) -> bool:
        """Whether ``--all`` leaves ``detector`` out of this suite."""
        return any(fnmatchcase(detector, pattern) for pattern in self.exclude)

    def skip_reason(self, detector: str, dataset: str) -> str | None:
        """Why this suite skips ``detector`` on ``dataset`` (a pair known not to work)."""
        for det, data, why in self.skip:
            if fnmatchcase(detector, det) and fnmatchcase(dataset, data):
                return why
        return None


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

# The default suite's network budget: at most this many optimizer steps. It binds only on the
# leave-one-class-out sets (digits-loo: 36 batches an epoch, 6.7 of the default 30 epochs); the
# one-vs-rest sets train their full 30 epochs within it (breast-cancer: 8 x 30 = 240 steps).
EMBEDDED_MAX_STEPS = 240
# ablation-only variants, the slowest deep baselines and the tuned networks (1024-wide: with
# them `run --all` measured 60% more fit time, about 280 s on 2 idle cores): run in
# `embedded-extra`, so that `run --all` stays a few minutes on 2 cores; the untrained and ref
# controls stay in embedded
EMBEDDED_EXTRA = ("*-nonorm", "dsvdd-*", "pyod-autoencoder", "pyod-deepsvdd", "*-tuned")
# the memory twins compute bp's function (its AUROC to float tolerance): the memory suite's
MEMORY_TWINS = ("bp-ckpt-*", "bp-accum-*")
EMBEDDED_SETS = ("digits", "breast-cancer", "wine", "digits-loo", "wine-loo")
# pairs that cannot give a result: skipped with the reason, so the default sweep exits 0
EMBEDDED_SKIP = (
    (
        "pyod-pca",
        "digits-loo",
        "PyOD's PCA (weighted=True) divides by each component's variance, and pixels constant "
        "in the nine normal digits give components of variance 0: non-finite scores",
    ),
)

SUITES.add(
    "embedded",
    Suite(
        "embedded",
        "sklearn's digits, breast-cancer, wine one-vs-rest and digits, wine "
        f"leave-one-class-out; no download; networks at most {EMBEDDED_MAX_STEPS} steps; "
        f"without {', '.join(EMBEDDED_EXTRA)} (suite embedded-extra) and the memory twins "
        f"{', '.join(MEMORY_TWINS)} (suite memory)",
        _fixed(*EMBEDDED_SETS),
        grid=({"max_steps": EMBEDDED_MAX_STEPS},),
        exclude=(*EMBEDDED_EXTRA, *MEMORY_TWINS),
        skip=EMBEDDED_SKIP,
    ),
)
SUITES.add(
    "embedded-extra",
    Suite(
        "embedded-extra",
        f"the embedded sets with what `embedded` leaves out ({', '.join(EMBEDDED_EXTRA)}), the "
        "last-layer twins and untrained controls they are compared with, ref-input-norm and "
        "pyod-knn; same step budget",
        _fixed(*EMBEDDED_SETS),
        detectors=(*EMBEDDED_EXTRA, "bpl-*", "untrained-*", "ref-input-norm", "pyod-knn"),
        grid=({"max_steps": EMBEDDED_MAX_STEPS},),
    ),
)
SUITES.add(
    "tuning",
    Suite(
        "tuning",
        "the tuning sets (tune-*) the tuned networks' label-free selection runs on "
        "(bench.selection): never reported; the embedded suite's detectors and budget",
        _datasets_constant("TUNING_SETS"),
        grid=({"max_steps": EMBEDDED_MAX_STEPS},),
        exclude=(*EMBEDDED_EXTRA, *MEMORY_TWINS),
    ),
)
SUITES.add(
    "paper", Suite("paper", "UCI banknote, the FF one-class paper's protocol", _fixed("banknote"))
)
SUITES.add(
    "images",
    Suite(
        "images",
        "MNIST, Fashion-MNIST, CIFAR-10 one-vs-rest (Deep SVDD) and leave-one-class-out",
        _fixed(*(f"{d}{p}" for p in ("", "-loo") for d in ("mnist", "fashion-mnist", "cifar10"))),
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
# FF, its same-loss twin plain and with each memory saver, the last-layer twin, the untrained
# control (zero steps: the meter's floor)
MEMORY_DETECTORS = tuple(
    f"{family}-{objective}-mlp{suffix}"
    for objective in ("hb-svdd", "goodness")
    for family, suffix in (
        ("ff", ""),
        ("bp", ""),
        ("bp-ckpt", ""),
        ("bp-ckpt", "-each"),
        ("bp-accum", ""),
        ("bpl", ""),
        ("untrained", ""),
    )
)


def _memory_suite(name: str, optimizer: str, state: str) -> Suite:
    return Suite(
        name,
        f"peak training memory vs depth: {MEMORY_WIDTH}-wide MLP, depths {MEMORY_DEPTHS}, "
        f"batch {MEMORY_BATCH}, {MEMORY_STEPS} {optimizer} steps ({state}), last-layer scores; "
        "FF, its same-loss twin plain, checkpointed (sqrt(depth) and 1 layer per segment) and "
        "accumulated (4 micro-batches), the last-layer twin and the untrained control",
        _fixed("synthetic-memory"),
        detectors=MEMORY_DETECTORS,
        grid=tuple(
            {
                "widths": [MEMORY_WIDTH] * depth,
                "batch_size": MEMORY_BATCH,
                "max_steps": MEMORY_STEPS,
                "optimizer": optimizer,
                "score_layers": "last",  # no scoring pass inside fit: fit holds training only
            }
            for depth in MEMORY_DEPTHS
        ),
    )


SUITES.add("memory", _memory_suite("memory", "sgd", "plain SGD: no optimizer state"))
SUITES.add(
    "memory-adam",
    _memory_suite("memory-adam", "adam", "Adam: two state tensors per parameter, kept"),
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

# The trade-off study: memory and accuracy together on real data as the MLP grows. Every cell
# trains the same budget: TRADEOFF_STEPS Adam steps of TRADEOFF_BATCH rows (epochs set so the
# step cap binds on every dataset: 64 full-batch epochs of a digits class, about 4 epochs of
# an ADBench set's 2000 training normals), detectors' other defaults unchanged.
TRADEOFF_DEPTHS = (2, 4, 8, 16)
TRADEOFF_WIDTHS = (64, 256, 1024)
# (depth, width) cells left out so that `--seeds 2` fits 45 minutes on 2 cores (README):
# the middle of the 1024-wide line, 32% of the sweep's time; its ends (2 and 16) stay
TRADEOFF_DROPPED = ((4, 1024), (8, 1024))
TRADEOFF_CELLS = tuple(
    (depth, width)
    for width in TRADEOFF_WIDTHS
    for depth in TRADEOFF_DEPTHS
    if (depth, width) not in TRADEOFF_DROPPED
)
TRADEOFF_BATCH = 128
TRADEOFF_STEPS = 64
TRADEOFF_OBJECTIVES = ("hb-svdd", "goodness")
TRADEOFF_FAMILIES = ("ff", "bp", "bpl", "untrained")
# the memory twins (MLP only): what a practitioner short of memory would train instead of bp
TRADEOFF_MEMORY_TWINS = ("bp-ckpt", "bp-accum")
# the two Deep SVDD LeNets (Ruff et al. 2018): 2 conv blocks (grey) and 3 (colour)
TRADEOFF_CNNS = (([8, 4], 32), ([32, 64, 128], 128))
_TRADEOFF_BUDGET = {
    "batch_size": TRADEOFF_BATCH,
    "max_steps": TRADEOFF_STEPS,
    "epochs": TRADEOFF_STEPS,
}


def _tradeoff_detectors(arch: str) -> tuple[str, ...]:
    families = (*TRADEOFF_FAMILIES, *(TRADEOFF_MEMORY_TWINS if arch == "mlp" else ()))
    return tuple(f"{f}-{o}-{arch}" for o in TRADEOFF_OBJECTIVES for f in families)


SUITES.add(
    "tradeoff",
    Suite(
        "tradeoff",
        f"memory and accuracy together: MLP depths {TRADEOFF_DEPTHS} x widths "
        f"{TRADEOFF_WIDTHS} less (depth, width) {TRADEOFF_DROPPED}, FF, both backprop twins, "
        f"the same-loss twin's memory savers ({', '.join(TRADEOFF_MEMORY_TWINS)}) "
        "and the untrained control (hb-svdd, "
        f"goodness) on digits (64-d), ADBench optdigits (64-d) and mnist (100-d); every cell "
        f"{TRADEOFF_STEPS} Adam steps of batch {TRADEOFF_BATCH}",
        _fixed("digits", "adbench-optdigits", "adbench-mnist"),
        detectors=_tradeoff_detectors("mlp"),
        grid=tuple(
            {"widths": [width] * depth, **_TRADEOFF_BUDGET} for depth, width in TRADEOFF_CELLS
        ),
    ),
)
SUITES.add(
    "tradeoff-images",
    Suite(
        "tradeoff-images",
        "the trade-off study on images: the CNN at its two depths (Deep SVDD LeNets, 2 and 3 "
        "conv blocks), same detectors and step budget as `tradeoff`, on MNIST, Fashion-MNIST, "
        "CIFAR-10",
        _fixed("mnist", "fashion-mnist", "cifar10"),
        detectors=_tradeoff_detectors("cnn"),
        grid=tuple(
            {"channels": channels, "rep_dim": rep_dim, **_TRADEOFF_BUDGET}
            for channels, rep_dim in TRADEOFF_CNNS
        ),
    ),
)
