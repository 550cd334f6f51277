"""Every built-in dataset: one :class:`~datasets.registry.DatasetSpec` entry each, in the
order ``bench list datasets`` shows them (adding a dataset whose loader exists is one entry
here). Also the dataset lists the harness' suites read: :data:`STREAMS`, :data:`TUNING_SETS`,
:data:`ADBENCH_PINNED`, :data:`ADBENCH_NATIVE`, :data:`PYOD_BENCHMARK`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from datasets.adbench import PYOD_BENCHMARK_SETS, adbench_manifest
from datasets.banknote import load_banknote
from datasets.embedded import load_embedded, load_embedded_loo, loo_classes
from datasets.registry import DATASETS, DatasetSpec
from datasets.split import Split
from datasets.stream import DRIFT_PAIRS, drift_stream, labelled_stream, one_vs_rest_stream
from datasets.synthetic import load_memory_workload
from datasets.tabular import load_adbench, load_adbench_native, load_adbench_pyod
from datasets.tuning import PREFIX, load_tuning, normal_classes


def _add(spec: DatasetSpec) -> None:
    DATASETS.add(spec.name, spec)


def _load_images(source: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """Image loaders import torchvision only when an image set is used."""
    from datasets import images

    return images.load_image_split(getattr(images, source), data_dir, int(normal_class), seed)


def _load_images_loo(source: str, data_dir: Path, normal_class: int | str, seed: int) -> Split:
    """Leave-one-class-out image splits; torchvision is imported only when used."""
    from datasets import images

    return images.load_image_loo_split(getattr(images, source), data_dir, normal_class, seed)


_TEN = tuple(range(10))
_add(
    DatasetSpec(
        "digits",
        partial(load_embedded, "digits"),
        _TEN,
        "tabular",
        False,
        "scikit-learn 8x8 digits, one-vs-rest, stratified 70/30",
    )
)
_add(
    DatasetSpec(
        "breast-cancer",
        partial(load_embedded, "breast-cancer"),
        ("benign",),
        "tabular",
        False,
        "scikit-learn Wisconsin diagnostic breast cancer, benign normal, 70/30",
    )
)
_add(
    DatasetSpec(
        "wine",
        partial(load_embedded, "wine"),
        (0, 1, 2),
        "tabular",
        False,
        "scikit-learn wine, one-vs-rest over 3 cultivars, stratified 70/30",
    )
)
# Leave-one-class-out (multi-modal normality, README "Leave-one-class-out"): class all-but-<k>
# is normal = every class but k, anomaly = class k.
_add(
    DatasetSpec(
        "digits-loo",
        partial(load_embedded_loo, "digits"),
        loo_classes(10),
        "tabular",
        False,
        "scikit-learn 8x8 digits, leave-one-class-out (9 normal digits), stratified 70/30",
    )
)
_add(
    DatasetSpec(
        "wine-loo",
        partial(load_embedded_loo, "wine"),
        loo_classes(3),
        "tabular",
        False,
        "scikit-learn wine, leave-one-class-out (2 normal cultivars), stratified 70/30",
    )
)
_add(
    DatasetSpec(
        "banknote",
        load_banknote,
        (0,),
        "tabular",
        True,
        "UCI banknote authentication, FF one-class paper protocol (60/20/20)",
    )
)
_add(
    DatasetSpec(
        "mnist",
        partial(_load_images, "MNIST"),
        _TEN,
        "images",
        True,
        "MNIST one-vs-rest (Deep SVDD protocol)",
    )
)
_add(
    DatasetSpec(
        "mnist-loo",
        partial(_load_images_loo, "MNIST"),
        loo_classes(10),
        "images",
        True,
        "MNIST leave-one-class-out (9 normal classes; Deep SVDD preprocessing)",
    )
)
_add(
    DatasetSpec(
        "fashion-mnist",
        partial(_load_images, "FASHION_MNIST"),
        _TEN,
        "images",
        True,
        "Fashion-MNIST one-vs-rest (Deep SVDD protocol)",
    )
)
_add(
    DatasetSpec(
        "fashion-mnist-loo",
        partial(_load_images_loo, "FASHION_MNIST"),
        loo_classes(10),
        "images",
        True,
        "Fashion-MNIST leave-one-class-out (9 normal classes; Deep SVDD preprocessing)",
    )
)
_add(
    DatasetSpec(
        "cifar10",
        partial(_load_images, "CIFAR10"),
        _TEN,
        "images",
        True,
        "CIFAR-10 one-vs-rest (Deep SVDD protocol)",
    )
)
_add(
    DatasetSpec(
        "cifar10-loo",
        partial(_load_images_loo, "CIFAR10"),
        loo_classes(10),
        "images",
        True,
        "CIFAR-10 leave-one-class-out (9 normal classes; Deep SVDD preprocessing)",
    )
)
_add(
    DatasetSpec(
        "synthetic-memory",
        load_memory_workload,
        (0,),
        "tabular",
        False,
        "1024-d Gaussian normals, shifted anomalies: the memory-versus-depth workload",
    )
)


# Tuning sets (datasets/tuning.py): what the tuned networks' label-free selection runs on
# (bench.selection); suite ``tuning`` only, and no report states findings on them.
def _tuning(name: str, description: str) -> None:
    text = f"tuning set (selection only, never reported): {description}, stratified 70/30"
    _add(DatasetSpec(PREFIX + name, partial(load_tuning, name), normal_classes(name), "tabular",
                     False, text))


_tuning("iris-loo", "scikit-learn iris, leave-one-class-out")
_tuning("blobs-loo", "8 anisotropic Gaussian clusters in 32-d, leave-one-cluster-out")
_tuning("subspace-loo", "10 image-like classes near 5-d subspaces of R^64, leave-one-out")
_tuning("scale-ovr", "20-d Gaussian normals, anomalies with twice the spread along 3 axes")
_tuning("moons-loo", "2-d two moons and a blob, leave-one-component-out")
# Each ADBench classical set under up to three protocols (README, "ADBench protocols"):
# adbench-<name>: one-class (the FF study's default); adbench-native-<name>: ADBench's own;
# adbench-pyod-<name>: PyOD's 2019 benchmark, for the ODDS sets of PyOD's table.
for _entry in adbench_manifest()[1]:
    _pinned = "" if _entry.sha256 else " [unpinned: no recorded sha256, so refused]"
    _add(
        DatasetSpec(
            _entry.name,
            partial(load_adbench, _entry),
            (0,),
            "tabular",
            True,
            f"ADBench {_entry.file}, one-class 70/30 (train on 70% of the normals, test on the "
            f"rest and every anomaly), size-capped{_pinned}",
            version=2,  # 2: size caps
        )
    )
    _add(
        DatasetSpec(
            f"adbench-native-{_entry.stem}",
            partial(load_adbench_native, _entry),
            (0,),
            "tabular",
            True,
            f"ADBench {_entry.file}, ADBench's protocol (stratified 70/30, contaminated "
            f"training, MinMax, its size handling){_pinned}",
        )
    )
    if _entry.file in PYOD_BENCHMARK_SETS:
        _add(
            DatasetSpec(
                f"adbench-pyod-{_entry.stem}",
                partial(load_adbench_pyod, _entry),
                (0,),
                "tabular",
                True,
                f"ADBench {_entry.file} (ODDS {PYOD_BENCHMARK_SETS[_entry.file]}), PyOD's "
                f"benchmark protocol (random 60/40, contaminated training, z-score){_pinned}",
            )
        )

# Streams for the online protocol (datasets/stream.py; suite ``stream``): raw features in a
# seeded order, standardised by the prequential runner from the warm-up prefix only.
for _name, _classes in (("digits", _TEN), ("breast-cancer", ("benign",)), ("wine", (0, 1, 2))):
    _add(
        DatasetSpec(
            f"stream-{_name}",
            partial(one_vs_rest_stream, _name),
            _classes,
            "stream",
            False,
            f"stream: scikit-learn {_name}, one class normal, 10% anomalies from the others, "
            "random order",
        )
    )
_add(
    DatasetSpec(
        "stream-drift-digits",
        partial(drift_stream, "digits"),
        DRIFT_PAIRS,
        "stream",
        False,
        "stream with drift: digits, normal class a for the first half and b for the second "
        "(scenario 'a-b'), 10% anomalies from the other classes",
    )
)
#: ADBench sets streamed whole (suite ``stream``): small sets, every row in a random order.
STREAM_ADBENCH = (
    "42_WBC.npz",
    "21_Lymphography.npz",
    "39_vertebral.npz",
    "4_breastw.npz",
    "43_WDBC.npz",
)
for _entry in adbench_manifest()[1]:
    if _entry.file in STREAM_ADBENCH:
        _add(
            DatasetSpec(
                f"stream-{_entry.name}",
                partial(labelled_stream, _entry),
                (0,),
                "stream",
                True,
                f"stream: ADBench {_entry.file}, every row in a random order, its own labels",
            )
        )
#: Every stream dataset (suite ``stream``).
STREAMS: tuple[str, ...] = tuple(n for n, s in DATASETS.items() if s.kind == "stream")

#: Every tuning set (suite ``tuning``).
TUNING_SETS: tuple[str, ...] = tuple(n for n in DATASETS.names() if n.startswith(PREFIX))
#: Every ADBench classical set whose file has a pinned sha256 (the harness' ``adbench`` suite).
ADBENCH_PINNED: tuple[str, ...] = tuple(e.name for e in adbench_manifest()[1] if e.sha256)
#: The same sets under ADBench's own protocol (suite ``adbench-native``).
ADBENCH_NATIVE: tuple[str, ...] = tuple(
    f"adbench-native-{e.stem}" for e in adbench_manifest()[1] if e.sha256
)
#: PyOD's benchmark protocol on the ODDS sets ADBench ships (suite ``pyod-benchmark``).
PYOD_BENCHMARK: tuple[str, ...] = tuple(
    f"adbench-pyod-{e.stem}"
    for e in adbench_manifest()[1]
    if e.sha256 and e.file in PYOD_BENCHMARK_SETS
)
