"""The dataset registry: :class:`DatasetSpec`, :data:`DATASETS` and :func:`load_split`.

Adding a dataset whose loader exists is one ``DatasetSpec`` entry in ``datasets/entries.py``
(the built-in datasets, registered when ``datasets`` is imported); listing it in a suite
(``bench/suites.py``) is a separate choice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

from core.registry import Registry
from datasets.split import Split
from datasets.stream import Stream
from datasets.validation import validate_split

Loader = Callable[[Path, int | str, int], Split | Stream]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: ``loader(data_dir, normal_class, seed) -> Split`` (a
    :class:`~datasets.stream.Stream` for ``kind="stream"``, the online protocol)."""

    name: str
    loader: Loader
    normal_classes: tuple[int | str, ...]
    kind: Literal["tabular", "images", "stream"]
    downloads: bool
    description: str
    version: int = 1  # part of every trial hash: bump when the split or preprocessing changes


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def default_data_dir() -> Path:
    """``$BENCH_DATA_DIR``, else the user cache directory of ``ff-oneclass-bench``."""
    env = os.environ.get("BENCH_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("ff-oneclass-bench"))


def _resolve_class(spec: DatasetSpec, normal_class: int | str | None) -> int | str:
    """The spec's class equal to ``normal_class`` (``"3"`` matches ``3``); None = the first."""
    if normal_class is None:
        return spec.normal_classes[0]
    for c in spec.normal_classes:
        if str(c) == str(normal_class):
            return c
    raise ValueError(
        f"{spec.name}: invalid normal class {normal_class!r}; valid: "
        f"{', '.join(map(str, spec.normal_classes))}"
    )


def load_split(
    name: str,
    normal_class: int | str | None = None,
    seed: int = 0,
    data_dir: Path | str | None = None,
) -> Split:
    """Load and validate the split of dataset ``name`` for ``normal_class`` and ``seed``.

    A stream dataset (``kind="stream"``) gives its :class:`~datasets.stream.Stream`.
    Raises ``UnknownNameError`` (with suggestions) for an unknown name, ``ValueError`` for an
    invalid class and :class:`DatasetError` for any problem with the data itself.
    """
    spec = DATASETS.get(name)
    cls = _resolve_class(spec, normal_class)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    data = spec.loader(root, cls, int(seed))
    return data if spec.kind == "stream" else validate_split(data)  # a Stream checks itself


__all__ = ["DATASETS", "DatasetSpec", "default_data_dir", "load_split"]
