"""Standard one-class splits with verified data: ``load_split(name, normal_class, seed)``.

Importing the package registers the built-in datasets (``datasets.entries``).
"""

from datasets.entries import ADBENCH_NATIVE, ADBENCH_PINNED, PYOD_BENCHMARK, STREAMS, TUNING_SETS
from datasets.errors import DatasetError
from datasets.registry import DATASETS, DatasetSpec, default_data_dir, load_split
from datasets.split import Provenance, Split

__all__ = [
    "ADBENCH_NATIVE",
    "ADBENCH_PINNED",
    "DATASETS",
    "PYOD_BENCHMARK",
    "STREAMS",
    "TUNING_SETS",
    "DatasetError",
    "DatasetSpec",
    "Provenance",
    "Split",
    "default_data_dir",
    "load_split",
]
