"""A small Python API for notebooks: run a sweep, load the results as a DataFrame.

    from bench import api

    results = api.run(["pyod-knn", "ff-hb-svdd-mlp"], ["wine"], seeds=2,
                      params={"epochs": 5}, experiment="notebook")
    results.groupby("params.detector")["metrics.auroc"].mean()

:func:`run` takes the options of ``python -m bench run`` as keywords and returns the
experiment's runs; :func:`load_results` reads any experiment, with the columns of the
report's ``results.csv`` (one row per run: ``run_id``, ``experiment``, ``run_name``,
``status``, ``start_time``, ``end_time``, then ``params.*``, ``tags.*``, ``metrics.*``);
:func:`report` writes the report of ``python -m bench report``.
Bad input raises :class:`bench.errors.UsageError` (the CLI's exit 2), an unusable store
:class:`bench.errors.StoreError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bench import sweep
from bench.errors import StoreError, UsageError
from core.registry import UnknownNameError

__all__ = ["load_results", "report", "run"]


def _many(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str | Path) else [str(v) for v in value]


def _option(flag: str, value: Any, kind: Callable[[str], Any] = str, choices: tuple = ()) -> Any:
    """``value`` as the CLI's ``flag`` would take it (read from its text), None when unset."""
    if value is None:
        return None
    text = str(value)
    if choices and text not in choices:
        raise UsageError(
            f"invalid options: argument {flag}: invalid choice: {text!r} (choose from "
            f"{', '.join(choices)})"
        )
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"invalid options: argument {flag}: invalid value: {text!r}") from None


def run(
    detectors: str | Iterable[str] | None = None,
    datasets: str | Iterable[str] | None = None,
    *,
    suite: str | None = None,
    all: bool = False,  # noqa: A002 - the CLI's --all
    seeds: int | None = None,
    params: Mapping[str, Any] | None = None,
    config: str | Path | None = None,
    include: str | Path | Iterable[str | Path] | None = None,
    workers: int | None = None,
    device: str | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    data_dir: str | Path | None = None,
    rerun: bool = False,
    progress: bool = False,
) -> Any:
    """Run a sweep, as ``python -m bench run`` with the same options, and return the
    experiment's runs (:func:`load_results`): every trial, FAILED ones included.

    ``detectors`` / ``datasets``: names or globs (``-d`` / ``--dataset``); ``params``: a dict
    of hyperparameter overrides (``--param``); ``config``: a sweep file (keywords given here
    override it, as flags do). Finished trials are not run again (unless ``rerun``)."""
    options = sweep.SweepOptions(
        detectors=_many(detectors),
        datasets=_many(datasets),
        all=bool(all),
        suite=_option("--suite", suite),
        seeds=_option("--seeds", seeds, int),
        # as --param KEY=<JSON>: the values JSON gives back (tuples become lists)
        params={str(k): json.loads(json.dumps(v)) for k, v in (params or {}).items()},
        config=_option("--config", config, Path),
        include=_many(include),
        workers=_option("--workers", workers, int),
        device=_option("--device", device, choices=("auto", "cpu", "cuda")),
        executor=_option("--executor", executor, choices=("local", "ray")),
        ray_address=_option("--ray-address", ray_address),
        experiment=_option("--experiment", experiment),
        tracking_uri=_option("--tracking-uri", tracking_uri),
        data_dir=_option("--data-dir", data_dir, Path),
        rerun=bool(rerun),
        progress=bool(progress),
    )
    try:
        outcome = sweep.run(options)
    except UnknownNameError as exc:  # the CLI's exit 2, as one exception type
        raise UsageError(str(exc)) from None
    return load_results(outcome.experiment, outcome.tracking_uri)


def load_results(experiment: str | Iterable[str], tracking_uri: str | None = None) -> Any:
    """The runs of ``experiment`` (a name or several) as a pandas DataFrame, one row per run,
    with the columns of ``results.csv``. ``tracking_uri``: as ``--tracking-uri`` (default
    ``$MLFLOW_TRACKING_URI``, else MLflow's own)."""
    from bench.tracking.location import resolve_tracking_uri
    from reports import load_runs

    names = [experiment] if isinstance(experiment, str) else list(experiment)
    try:
        return load_runs(names, resolve_tracking_uri(tracking_uri))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def report(
    experiments: str | Iterable[str] | None = None,
    tracking_uri: str | None = None,
    out: str | Path = "bench-report",
    *,
    log: bool = True,
    group_by: Iterable[str] = (),
) -> Path:
    """Write the markdown/LaTeX report of ``experiments`` (default ``bench-embedded``) into
    ``out``, as ``python -m bench report``, and log it to MLflow unless ``log`` is False;
    ``group_by``: an ablation table per swept hyperparameter. Returns the report's path."""
    out = Path(out)
    _check_writable_dir("--out", out)  # before MLflow is imported
    from bench.tracking.health import check_store, open_client
    from bench.tracking.location import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    check_store(uri, create=False, write=log)  # never creates a store
    client = open_client(uri)
    existing = sorted(e.name for e in client.search_experiments() if e.name != "Default")
    experiments = _many(experiments) or ["bench-embedded"]
    if not existing:
        raise UsageError(
            f"the tracking store {uri} holds no experiments yet: run `python -m bench run` "
            "first, or pass --tracking-uri with the store to read"
        )
    unknown = [name for name in experiments if name not in existing]
    if unknown:
        raise UsageError(
            f"no experiment {', '.join(map(repr, unknown))} in {uri}; existing: "
            f"{', '.join(existing)}"
        )

    from reports import UnknownGroupKey, build_report

    try:
        path = build_report(experiments, uri, out, log=log, group_by=list(group_by))
    except UnknownGroupKey as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"cannot write the report to {out}: {exc}") from None
    return path


def _check_writable_dir(option: str, path: Path) -> None:
    """``path`` is, or can be created as, a directory this process can write in."""
    sweep.check_dir(option, path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option} {path}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {probe.absolute()} is not writable; choose another")
