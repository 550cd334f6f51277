"""Detectors and datasets from outside the repository: entry points and ``--include`` files.

A package registers them with Python entry points (what pytest plugins use)::

    [project.entry-points."ff_oneclass_bench.detectors"]
    my-mahalanobis = "my_package.detectors:Mahalanobis"

    [project.entry-points."ff_oneclass_bench.datasets"]
    my-data = "my_package.data:MY_DATA"

A single file does the same with ``python -m bench run --include FILE.py``: its module-level
dicts ``BENCH_DETECTORS`` and ``BENCH_DATASETS`` map names to the same objects.

An entry point's object is a :class:`~bench.detectors.DetectorSpec` /
:class:`~datasets.registry.DatasetSpec` (full control; its name is the entry's), or:

- a detector: a class (or factory) taking its hyperparameters as keywords, with ``fit(X)``
  and ``score_samples(X)`` (higher = more anomalous); ``seed`` and ``device`` are passed when
  its signature takes them. Its keyword defaults are its hyperparameters (``--param``
  overrides them); optional class attributes: ``family`` ("plugin"), ``inputs`` ("any",
  "images"), ``version`` (an int in every trial hash: bump it to invalidate old results).
- a dataset: a loader ``(data_dir, normal_class, seed) -> datasets.split.Split``; optional
  attributes ``normal_classes`` ((0,)), ``kind`` ("tabular"), ``downloads`` (False).

Run ``bench.checks.check_detector(obj)`` on a plugin's detector: the contract suite every
built-in passes (it names the rule a detector breaks).

A plugin that fails to load is reported in one line and left out (the built-ins work); a
name that clashes with a built-in or another plugin is refused. Every run that uses a
plugin's detector or dataset is tagged ``bench.plugin`` and ``bench.plugin_version``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from core import schema

GROUP_DETECTORS = "ff_oneclass_bench.detectors"
GROUP_DATASETS = "ff_oneclass_bench.datasets"
INCLUDE_DETECTORS = "BENCH_DETECTORS"
INCLUDE_DATASETS = "BENCH_DATASETS"
TAG_PLUGIN = schema.TAG_PLUGIN
TAG_PLUGIN_VERSION = schema.TAG_PLUGIN_VERSION
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class PluginInfo:
    """Where a registered entry came from: a distribution (or an included file) and version."""

    name: str
    version: str


#: ("detector" | "dataset", registered name) -> the plugin that registered it.
ORIGIN: dict[tuple[str, str], PluginInfo] = {}
_loaded_entry_points = False
_included: dict[Path, list[str]] = {}  # resolved file -> names it registered
_problems: list[str] = []


def load(includes: tuple[str | Path, ...] | list[str | Path] = ()) -> list[str]:
    """Register every installed plugin (once per process) and each ``includes`` file (once
    each). Returns one line per plugin that was left out (failed to load, clashing name);
    an included file that cannot be used raises :class:`UsageError` (it was asked for)."""
    global _loaded_entry_points
    from bench.detectors import DETECTORS
    from datasets import DATASETS

    if not _loaded_entry_points:
        _loaded_entry_points = True
        builtin = {("detector", n) for n in DETECTORS} | {("dataset", n) for n in DATASETS}
        for group, kind in ((GROUP_DETECTORS, "detector"), (GROUP_DATASETS, "dataset")):
            for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
                dist = getattr(ep, "dist", None)
                info = PluginInfo(
                    dist.metadata["Name"] if dist else ep.module, dist.version if dist else ""
                )
                where = f"plugin {info.name} ({group} entry point {ep.name!r} = {ep.value})"
                try:
                    obj = ep.load()
                except Exception as exc:  # an import error of someone else's package
                    first = (str(exc).strip().splitlines() or [""])[0]
                    _problems.append(
                        f"{where} failed to load and is left out: {type(exc).__name__}: {first}"
                    )
                    continue
                try:
                    _register(kind, ep.name, obj, info, builtin)
                except ValueError as exc:
                    _problems.append(f"{where} is refused: {exc}")
    for path in includes:
        _include(Path(path))
    return list(_problems)


def _include(path: Path) -> None:
    from bench.detectors import DETECTORS
    from datasets import DATASETS

    resolved = path.expanduser().resolve()
    if resolved in _included:
        return
    if not resolved.is_file() or resolved.suffix != ".py":
        raise UsageError(f"--include {path}: not a Python file")
    data = resolved.read_bytes()
    info = PluginInfo(f"include:{resolved.name}", hashlib.sha256(data).hexdigest()[:12])
    module_name = "bench_include_" + re.sub(r"\W", "_", resolved.stem)
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module_name] = module  # pickling (Ray, spawn) finds its classes by name
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        sys.modules.pop(module_name, None)
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UsageError(
            f"--include {path} failed to import: {type(exc).__name__}: {first}"
        ) from None
    entries = [
        ("detector", getattr(module, INCLUDE_DETECTORS, None)),
        ("dataset", getattr(module, INCLUDE_DATASETS, None)),
    ]
    if all(e is None for _, e in entries):
        raise UsageError(
            f"--include {path} defines neither {INCLUDE_DETECTORS} nor {INCLUDE_DATASETS} "
            "(dicts of name -> detector class / dataset loader)"
        )
    taken = {("detector", n) for n in DETECTORS} | {("dataset", n) for n in DATASETS}
    names = []
    for kind, table in entries:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise UsageError(f"--include {path}: {kind.upper()}S must be a dict of name -> object")
        for name, obj in table.items():
            try:
                _register(kind, name, obj, info, taken)
            except ValueError as exc:
                raise UsageError(f"--include {path}: {exc}") from None
            names.append(name)
    _included[resolved] = names


def _register(kind: str, name: str, obj: Any, info: PluginInfo, taken: set[tuple[str, str]]):
    from bench.detectors import DETECTORS
    from datasets import DATASETS

    registry = DETECTORS if kind == "detector" else DATASETS
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} is not valid (letters, digits, - _ . +)")
    if (kind, name) in taken or name in registry:
        owner = ORIGIN.get((kind, name))
        what = f"the plugin {owner.name}" if owner else "a built-in"
        raise ValueError(
            f"{kind} {name!r} clashes with {what} {kind} of that name; rename it in the plugin"
        )
    spec = detector_spec(name, obj) if kind == "detector" else dataset_spec(name, obj)
    registry.add(name, spec)
    ORIGIN[(kind, name)] = info


def detector_spec(name: str, obj: Any) -> Any:
    """A :class:`~bench.detectors.DetectorSpec` for a plugin's object (see the module doc)."""
    import dataclasses

    from bench.detector_spec import DetectorSpec

    if isinstance(obj, DetectorSpec):
        return dataclasses.replace(obj, name=name)
    if not callable(obj):
        raise ValueError(f"detector {name!r}: {obj!r} is neither a DetectorSpec nor a class")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        raise ValueError(f"detector {name!r}: cannot read the signature of {obj!r}") from None
    params = signature.parameters
    defaults = {
        k: p.default
        for k, p in params.items()
        if k not in ("seed", "device", "self")
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.default is not p.empty
    }
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    passes = {k for k in ("seed", "device") if k in params or takes_any}
    doc = (inspect.getdoc(obj) or "").strip().splitlines()
    inputs = getattr(obj, "inputs", "any")
    if inputs not in ("any", "images"):
        raise ValueError(f"detector {name!r}: inputs must be 'any' or 'images', not {inputs!r}")
    return DetectorSpec(
        name=name,
        family=str(getattr(obj, "family", "plugin")),
        factory=_PluginFactory(obj, tuple(sorted(passes))),
        defaults=defaults,
        inputs=inputs,
        version=int(getattr(obj, "version", 1)),
        description=(doc[0] if doc else f"plugin {getattr(obj, '__qualname__', obj)}"),
    )


@dataclass(frozen=True)
class _PluginFactory:
    """Builds a plugin's detector: passes ``seed``/``device`` when it takes them, and gives
    it an ``hparams`` dict (what the run records) when it has none."""

    cls: Any
    passes: tuple[str, ...]

    def __call__(self, seed: int = 0, device: str = "cpu", **hparams: Any) -> Any:
        given = {"seed": seed, "device": device}
        detector = self.cls(**{k: given[k] for k in self.passes}, **hparams)
        if not isinstance(getattr(detector, "hparams", None), dict):
            detector.hparams = dict(hparams)
        return detector


def dataset_spec(name: str, obj: Any) -> Any:
    """A :class:`~datasets.registry.DatasetSpec` for a plugin's object (see the module doc)."""
    import dataclasses

    from datasets.registry import DatasetSpec

    if isinstance(obj, DatasetSpec):
        return dataclasses.replace(obj, name=name)
    if not callable(obj):
        raise ValueError(f"dataset {name!r}: {obj!r} is neither a DatasetSpec nor a loader")
    kind = getattr(obj, "kind", "tabular")
    if kind not in ("tabular", "images"):
        raise ValueError(f"dataset {name!r}: kind must be 'tabular' or 'images', not {kind!r}")
    classes = tuple(getattr(obj, "normal_classes", (0,)))
    if not classes:
        raise ValueError(f"dataset {name!r}: normal_classes is empty")
    doc = (inspect.getdoc(obj) or "").strip().splitlines()
    return DatasetSpec(
        name,
        obj,
        classes,
        kind,
        bool(getattr(obj, "downloads", False)),
        doc[0] if doc else f"plugin {getattr(obj, '__qualname__', obj)}",
    )


def tags(detector: str, dataset: str) -> dict[str, str]:
    """``bench.plugin`` / ``bench.plugin_version`` of a trial that uses a plugin (``name``
    or ``name version``, ``;``-joined when both its detector and its dataset are plugins)."""
    used = [ORIGIN[k] for k in (("detector", detector), ("dataset", dataset)) if k in ORIGIN]
    unique = list(dict.fromkeys(used))
    if not unique:
        return {}
    return {
        TAG_PLUGIN: "; ".join(p.name for p in unique),
        TAG_PLUGIN_VERSION: "; ".join(p.version or "unknown" for p in unique),
    }
