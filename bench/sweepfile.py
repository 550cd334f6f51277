"""Sweep files: ``python -m bench run --config sweep.toml``.

A TOML file (read with :mod:`tomllib`) names what ``run`` would take on the command line,
plus hyperparameters per detector and grids (one trial per combination)::

    detectors = ["ff-hb-svdd-mlp", "pyod-knn"]   # names or globs; or all = true
    datasets = ["wine"]                           # names or globs; or suite = "embedded"
    seeds = 2                                     # seeds 0..N-1
    experiment = "ablation"                       # also: tracking_uri, data_dir, workers,
                                                  # device, executor, ray_address, include
    [params]                  # every selected detector that has the key (like --param)
    epochs = 3
    [grid]                    # a list of values per key: one trial per combination
    lr = [0.001, 0.01]
    [detector.ff-hb-svdd-mlp] # one detector (a name or a quoted glob): its own values
    batch_size = 64
    [detector.ff-hb-svdd-mlp.grid]
    widths = [[64], [64, 32]]

Precedence, lowest first: ``params``, ``grid``, a detector's values, its grid, then the
command line (``--param`` and every other flag override the file). Errors name the file and
line (:class:`SweepFileError`, exit 2) and come before anything runs.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from bench.tomllines import locate

#: Top-level keys: name -> (type check, what it must be).
SCALARS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "detectors": (list, "a list of detector names or globs"),
    "datasets": (list, "a list of dataset names or globs"),
    "suite": (str, "a suite name"),
    "seeds": (int, "a positive integer (seeds 0..N-1)"),
    "all": (bool, "true or false"),
    "experiment": (str, "an experiment name"),
    "tracking_uri": (str, "a tracking URI"),
    "data_dir": (str, "a directory"),
    "workers": (int, "a positive integer"),
    "device": (str, "auto, cpu or cuda"),
    "executor": (str, "local or ray"),
    "ray_address": (str, "a Ray address"),
    "include": (list, "a list of Python files (relative to the sweep file)"),
    "rerun": (bool, "true or false"),
}
TABLES = ("params", "grid", "detector")
CHOICES = {"device": ("auto", "cpu", "cuda"), "executor": ("local", "ray")}


class SweepFileError(UsageError):
    """A problem in a sweep file, with its line: ``sweep.toml:7: ...``."""

    def __init__(self, path: Path, line: int | None, message: str):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class DetectorTable:
    """``[detector.<pattern>]``: values and a grid for the detectors the pattern matches."""

    pattern: str
    values: dict[str, Any]
    grid: dict[str, list[Any]]


@dataclass
class SweepFile:
    path: Path
    sha256: str
    data: dict[str, Any]  # the top-level scalars given
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    detectors: list[DetectorTable] = field(default_factory=list)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line(self, *key: str) -> int | None:
        """The line where ``key`` (a path of TOML keys) is set, else its nearest parent's."""
        for n in range(len(key), 0, -1):
            if key[:n] in self.lines:
                return self.lines[key[:n]]
        return None

    def error(self, message: str, *key: str) -> SweepFileError:
        return SweepFileError(self.path, self.line(*key), message)

    @property
    def includes(self) -> list[str]:
        """``include`` files, relative to the sweep file's directory."""
        return [str((self.path.parent / p).resolve()) for p in self.data.get("include", [])]


def read(path: Path) -> SweepFile:
    """Read and check a sweep file's structure and types (no registry needed: fast)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode()
        data = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        m = re.search(r"at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(m.group(1)) if m else None
        raise SweepFileError(path, line, f"not valid TOML: {message}") from None
    sweep = SweepFile(path, hashlib.sha256(raw).hexdigest(), {}, lines=locate(text))
    for key, value in data.items():
        if key in TABLES:
            continue
        if key not in SCALARS:
            close = difflib.get_close_matches(key, [*SCALARS, *TABLES], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join([*SCALARS, *TABLES])
            raise sweep.error(f"unknown key {key!r}{hint} (known: {known})", key)
        kind, wanted = SCALARS[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if ok and kind is int:
            ok = value >= 1
        if ok and kind is list:
            ok = bool(value) and all(isinstance(v, str) and v for v in value)
        if ok and key in CHOICES:
            ok = value in CHOICES[key]
        if not ok:
            raise sweep.error(f"{key} must be {wanted}, not {_show(value)}", key)
        sweep.data[key] = value
    for name in sweep.data.get("include", []):
        file = (path.parent / name).resolve()
        if not file.is_file():
            raise sweep.error(f"include: no file {file}", "include")
    if "detectors" in sweep.data and sweep.data.get("all"):
        raise sweep.error("give detectors or all = true, not both", "all")
    for table in ("params", "grid"):
        if table in data and not isinstance(data[table], dict):
            raise sweep.error(f"{table} must be a table ([{table}])", table)
    sweep.params = dict(data.get("params", {}))
    sweep.grid = _grid(sweep, data.get("grid", {}), ("grid",))
    detectors = data.get("detector", {})
    if not isinstance(detectors, dict):
        raise sweep.error("detector must be a table of [detector.<name>] tables", "detector")
    for pattern, table in detectors.items():
        if not isinstance(table, dict):
            raise sweep.error(
                f"detector.{pattern} must be a table ([detector.{pattern}])", "detector", pattern
            )
        values = {k: v for k, v in table.items() if k != "grid"}
        grid = table.get("grid", {})
        if not isinstance(grid, dict):
            raise sweep.error(
                f"detector.{pattern}.grid must be a table", "detector", pattern, "grid"
            )
        sweep.detectors.append(
            DetectorTable(pattern, values, _grid(sweep, grid, ("detector", pattern, "grid")))
        )
    return sweep


def _show(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def _grid(sweep: SweepFile, table: dict[str, Any], where: tuple[str, ...]) -> dict[str, list]:
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            raise sweep.error(
                f"grid value {key} must be a non-empty list of values (one trial each), not "
                f"{_show(values)}",
                *where,
                key,
            )
    return dict(table)


def check_names(sweep: SweepFile, given: dict[str, bool]) -> None:
    """Refuse unknown detectors, datasets and suite names the file gives (and the command
    line does not override: ``given[key]`` is True when it does), with their lines."""
    from bench.detectors import DETECTORS
    from bench.suites import SUITES
    from core.registry import UnknownNameError
    from datasets import DATASETS

    for key, registry in (("detectors", DETECTORS), ("datasets", DATASETS)):
        if given.get(key) or key not in sweep.data:
            continue
        for pattern in sweep.data[key]:
            try:
                registry.select([pattern])
            except UnknownNameError as exc:
                raise sweep.error(str(exc), key) from None
    if "suite" in sweep.data and not given.get("suite") and sweep.data["suite"] not in SUITES:
        try:
            SUITES.get(sweep.data["suite"])
        except UnknownNameError as exc:
            raise sweep.error(str(exc), "suite") from None


def points(
    sweep: SweepFile, detectors: list[str], strict: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """Each selected detector's hyperparameter points (the grids' combinations, with the
    fixed values), checked: every key must be a hyperparameter of some selected detector (of
    the table's detectors, for ``[detector.X]``) and every value one the detector accepts
    (its type, then its own checks) — a problem raises :class:`SweepFileError` at its line.
    A ``[detector.X]`` table must match a selected detector; when the command line chose the
    detectors (not ``strict``), only a registered one."""
    from bench.detectors import DETECTORS
    from bench.plan import hparam_problem

    specs = [DETECTORS.get(d) for d in detectors]
    for table in sweep.detectors:
        matched = [s for s in specs if fnmatch.fnmatchcase(s.name, table.pattern)]
        if not matched and not strict and DETECTORS.names(table.pattern):
            continue  # the command line left its detectors out
        if not matched:
            close = difflib.get_close_matches(table.pattern, detectors, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise sweep.error(
                f"[detector.{table.pattern}] matches no selected detector{hint} (selected: "
                f"{', '.join(detectors)})",
                "detector",
                table.pattern,
            )
        _check_keys(sweep, matched, table.values, ("detector", table.pattern))
        _check_keys(sweep, matched, table.grid, ("detector", table.pattern, "grid"), grid=True)
    _check_keys(sweep, specs, sweep.params, ("params",))
    _check_keys(sweep, specs, sweep.grid, ("grid",), grid=True)

    out: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        layers: dict[str, tuple[list[Any], tuple[str, ...]]] = {}  # key -> (values, where)
        for key, value in sweep.params.items():
            layers[key] = ([value], ("params", key))
        for key, values in sweep.grid.items():
            layers[key] = (values, ("grid", key))
        for table in sweep.detectors:
            if fnmatch.fnmatchcase(spec.name, table.pattern):
                for key, value in table.values.items():
                    layers[key] = ([value], ("detector", table.pattern, key))
                for key, values in table.grid.items():
                    layers[key] = (values, ("detector", table.pattern, "grid", key))
        layers = {k: v for k, v in layers.items() if k in spec.defaults}
        if not layers:
            continue
        for key, (values, where) in layers.items():
            for value in values:
                problem = hparam_problem(spec, key, value)
                if problem:
                    raise sweep.error(f"{key} = {_show(value)}: {problem}", *where)
        keys = list(layers)
        combos = [
            dict(zip(keys, c, strict=True))
            for c in itertools.product(*(layers[k][0] for k in keys))
        ]
        for combo in combos:
            try:
                spec.build(0, "cpu", spec.resolve(combo))
            except (ValueError, TypeError) as exc:
                first = next(iter(layers.values()))[1]
                raise sweep.error(f"{spec.name} refuses {_show(combo)}: {exc}", *first) from None
        out[spec.name] = combos
    return out


def _check_keys(
    sweep: SweepFile,
    specs: list[Any],
    table: dict[str, Any],
    where: tuple[str, ...],
    grid: bool = False,
) -> None:
    for key in table:
        if not any(key in s.defaults for s in specs):
            known = sorted({k for s in specs for k in s.defaults})
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            names = ", ".join(s.name for s in specs)
            raise sweep.error(
                f"unknown hyperparameter {key!r}{hint}: no detector of {names} has it",
                *where,
                key,
            )
