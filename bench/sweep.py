"""A sweep from its options (``python -m bench run``'s flags or the API's keywords): the sweep
file merged under them, every name and value checked before torch, PyOD or MLflow load, then
the plan printed (a dry run) or run into the tracking store."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UsageError

#: ``run`` options a sweep file may set, with their defaults when neither sets them.
RUN_DEFAULTS: dict[str, Any] = {
    "seeds": 3,
    "workers": None,  # the number of cores
    "device": "auto",
    "executor": "local",
    "suite": None,
    "experiment": None,
    "tracking_uri": None,
    "data_dir": None,
    "ray_address": None,
}


@dataclass
class SweepOptions:
    """The options of a sweep; None where not given (then the sweep file's value, else
    :data:`RUN_DEFAULTS`). ``detectors`` / ``datasets``: names or globs; ``params``:
    hyperparameter overrides; ``config``: a sweep file; ``include``: plugin files."""

    detectors: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    all: bool = False
    suite: str | None = None
    seeds: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    config: Path | None = None
    include: list[str] = field(default_factory=list)
    workers: int | None = None
    device: str | None = None
    executor: str | None = None
    ray_address: str | None = None
    experiment: str | None = None
    tracking_uri: str | None = None
    data_dir: Path | None = None
    rerun: bool = False
    dry_run: bool = False
    progress: bool = True


@dataclass(frozen=True)
class SweepOutcome:
    """``ok``: every trial finished and every dataset was available; where the runs are."""

    ok: bool
    experiment: str | None
    tracking_uri: str | None


def check_dir(option: str, path: Path | None) -> None:
    """A directory option must not name an existing non-directory."""
    if path is not None and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a directory")


def load_plugins(includes: list[str]) -> None:
    """Load installed plugins and ``include`` files; a plugin left out is one line."""
    from bench import plugins

    for problem in plugins.load(includes):
        print(f"warning: {problem}", file=sys.stderr)


def merge_sweep_file(options: SweepOptions) -> tuple[Any, dict[str, bool]]:
    """Fill ``options`` from its sweep file where they are unset (given options win), then
    from the defaults. Returns the sweep file (or None) and which names the options gave
    (those the file's are not checked)."""
    given = {"detectors": bool(options.detectors) or options.all}
    given |= {"datasets": bool(options.datasets), "suite": options.suite is not None}
    sweep = None
    if options.config is not None:
        from bench import sweepfile

        sweep = sweepfile.read(options.config)
        file = sweep.data
        for key in RUN_DEFAULTS:
            if getattr(options, key) is None and key in file:
                value = file[key]
                if key == "data_dir":
                    value = (sweep.path.parent / value).expanduser()
                setattr(options, key, value)
        if not given["detectors"]:
            options.detectors = list(file.get("detectors", []))
            options.all = bool(file.get("all", False))
        if not given["datasets"]:
            options.datasets = list(file.get("datasets", []))
        options.rerun = options.rerun or bool(file.get("rerun", False))
        options.include = [*sweep.includes, *options.include]
    for key, default in RUN_DEFAULTS.items():
        if getattr(options, key) is None:
            setattr(options, key, default)
    if options.workers is None:
        options.workers = os.cpu_count() or 1
    return sweep, given


def run(options: SweepOptions) -> SweepOutcome:
    """Check, plan and run (or with ``dry_run`` print) a sweep, printing what it skipped and
    its summary. Bad names raise ``UnknownNameError``, other bad input :class:`UsageError`."""
    options = dataclasses.replace(options)
    # Usage errors (names, values) come first, before torch, PyOD or MLflow is imported.
    sweep, given = merge_sweep_file(options)
    if options.seeds < 1 or options.workers < 1:
        raise UsageError("--seeds and --workers must be at least 1")
    overrides = dict(options.params)
    env_dir = os.environ.get("BENCH_DATA_DIR")
    check_dir("--data-dir", options.data_dir)
    check_dir("BENCH_DATA_DIR", Path(env_dir) if env_dir and not options.data_dir else None)

    from bench.detectors import select_detectors
    from bench.plan import Skip, plan_sweep
    from bench.suites import SUITES, Suite
    from bench.sweeptext import pairs_text, print_summary
    from datasets import DATASETS, default_data_dir

    load_plugins(options.include)
    if sweep is not None:
        from bench import sweepfile

        sweepfile.check_names(sweep, given)

    if options.datasets and not options.suite:
        suite = Suite("custom", "datasets named on the command line", list)
    else:
        suite = SUITES.get(options.suite or "embedded")
    datasets = DATASETS.select(options.datasets) if options.datasets else suite.datasets()
    patterns = list(options.detectors) or (list(suite.detectors) if options.all else [])
    if not patterns:
        raise UsageError("choose detectors: --all, or -d PATTERN (see `python -m bench list`)")
    detectors = select_detectors(patterns)
    if not options.detectors:  # the suite's --all
        detectors = [d for d in detectors if not suite.excludes(d)]
    points = None
    if sweep is not None:
        points = sweepfile.points(sweep, detectors, strict=not given["detectors"])
    try:
        plan = plan_sweep(detectors, datasets, suite, range(options.seeds), overrides, points)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not options.dry_run:  # the store, before anything slow: unreachable, read-only, ...
        from bench.tracking.health import check_store
        from bench.tracking.location import resolve_tracking_uri

        check_store(resolve_tracking_uri(options.tracking_uri))
    from bench.executors import RunOptions
    from bench.runner import run_sweep, unavailable_datasets
    from bench.tracking.store import Store

    by_reason: dict[str, list[Any]] = {}
    for skip in plan.skipped:
        by_reason.setdefault(skip.reason, []).append(skip)
    for reason, skips in by_reason.items():
        print(f"skipped {len(skips)} pair(s) ({reason}): {pairs_text(skips)}")
    if options.dry_run:
        for trial in plan.trials:
            print(f"{trial.key}  {trial.run_name}  {json.dumps(trial.hparams, sort_keys=True)}")
        print(f"{len(plan.trials)} trial(s) planned, {len(plan.skipped)} pair(s) skipped")
        return SweepOutcome(True, options.experiment, options.tracking_uri)

    data_dir = options.data_dir or default_data_dir()
    digests: dict[str, str] = {}
    missing = unavailable_datasets(datasets, data_dir, digests)
    for name, reason in missing.items():
        print(
            f"error: dataset {name} is unavailable, its trials are not run:\n{reason}",
            file=sys.stderr,
        )
        plan.trials = [t for t in plan.trials if t.dataset != name]
        plan.skipped.append(Skip("*", name, f"dataset unavailable: {reason}"))
    plan.trials = [_with_data(t, digests) for t in plan.trials]
    device = _device(options.device)
    executor = _executor(options, device)
    experiment = options.experiment = options.experiment or f"bench-{suite.name}"
    store = Store(experiment, options.tracking_uri)
    workers = getattr(executor, "workers", options.workers)
    run_options = RunOptions(
        device,
        data_dir,
        threads_per_trial=max(1, (os.cpu_count() or 1) // workers),
        includes=tuple(str(Path(p).resolve()) for p in options.include),
    )
    summary = run_sweep(
        plan,
        store,
        executor,
        run_options,
        rerun=options.rerun,
        progress=options.progress,
        sweep_file=sweep.path if sweep is not None else None,
    )
    print_summary(summary, store, workers)
    return SweepOutcome(not (summary.failed or missing), experiment, options.tracking_uri)


def _with_data(trial: Any, digests: dict[str, str]) -> Any:
    """``trial`` with its data files' sha256 (part of its hash), when they are known."""
    digest = digests.get(trial.dataset, "")
    return dataclasses.replace(trial, data_sha256=digest) if digest else trial


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible to torch here")
    return choice


def _executor(options: SweepOptions, device: str) -> Any:
    if options.executor == "ray":
        from bench.ray_executor import RayExecutor

        try:
            return RayExecutor(options.ray_address, gpus_per_trial=1 if device == "cuda" else 0)
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
    from bench.executors import LocalExecutor

    return LocalExecutor(options.workers)
