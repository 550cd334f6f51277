"""A small Python API for notebooks: run a sweep, load the results as a DataFrame.

    from bench import api

    results = api.run(["pyod-knn", "ff-hb-svdd-mlp"], ["wine"], seeds=2,
                      params={"epochs": 5}, experiment="notebook")
    results.groupby("params.detector")["metrics.auroc"].mean()

:func:`run` takes the options of ``python -m bench run`` as keywords and returns the
experiment's runs; :func:`load_results` reads any experiment, with the columns of the
report's ``results.csv`` (one row per run: ``run_id``, ``experiment``, ``run_name``,
``status``, ``start_time``, ``end_time``, then ``params.*``, ``tags.*``, ``metrics.*``).
Bad input raises :class:`bench.errors.UsageError` (the CLI's exit 2), an unusable store
:class:`bench.errors.StoreError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from core.registry import UnknownNameError

__all__ = ["load_results", "run"]


def _many(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str | Path) else [str(v) for v in value]


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
    from bench import cli

    argv = ["run"]
    argv += [a for d in _many(detectors) for a in ("-d", d)]
    argv += [a for d in _many(datasets) for a in ("--dataset", d)]
    argv += [a for f in _many(include) for a in ("--include", f)]
    for key, value in (params or {}).items():
        argv += ["--param", f"{key}={json.dumps(value)}"]
    options = {
        "--suite": suite,
        "--seeds": seeds,
        "--config": config,
        "--workers": workers,
        "--device": device,
        "--executor": executor,
        "--ray-address": ray_address,
        "--experiment": experiment,
        "--tracking-uri": tracking_uri,
        "--data-dir": data_dir,
    }
    argv += [a for flag, v in options.items() if v is not None for a in (flag, str(v))]
    argv += [flag for flag, on in (("--all", all), ("--rerun", rerun)) if on]
    if not progress:
        argv.append("--no-progress")
    try:
        args = cli.build_parser().parse_args(argv)
    except SystemExit:  # argparse printed why
        raise UsageError(f"invalid options: {' '.join(argv[1:])}") from None
    try:
        cli._run(args)
    except UnknownNameError as exc:  # the CLI's exit 2, as one exception type
        raise UsageError(str(exc)) from None
    return load_results(args.experiment, args.tracking_uri)


def load_results(experiment: str | Iterable[str], tracking_uri: str | None = None) -> Any:
    """The runs of ``experiment`` (a name or several) as a pandas DataFrame, one row per run,
    with the columns of ``results.csv``. ``tracking_uri``: as ``--tracking-uri`` (default
    ``$MLFLOW_TRACKING_URI``, else MLflow's own)."""
    from bench.tracking import resolve_tracking_uri
    from reports.runs import load_runs

    names = [experiment] if isinstance(experiment, str) else list(experiment)
    try:
        return load_runs(names, resolve_tracking_uri(tracking_uri))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
