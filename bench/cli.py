"""``python -m bench``: list, run and report."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bench.errors import StoreError, UsageError
from core.registry import UnknownNameError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 128 + signal.SIGTERM

__all__ = ["StoreError", "UsageError", "build_parser", "main"]


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a cluster scheduler): stopped like Ctrl-C."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise Terminated


def _key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a JSON value; a bare word (``optimizer=sgd``) is a string, but
    broken JSON (``widths=[64,``) is an error, not silently a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError as err:
        if raw.strip()[:1] in ('[', '{', '"') or raw.strip().startswith(("-", *"0123456789")):
            raise UsageError(
                f"--param {key}={raw}: not valid JSON ({err.msg} at character {err.pos}); "
                f"e.g. {key}=[64,32], {key}=0.01, {key}=true or {key}='\"text\"'"
            ) from None
        return key, raw


def _check_dir(option: str, path: Path | None) -> None:
    """A directory option must not name an existing non-directory."""
    if path is not None and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a directory")


def _check_writable_dir(option: str, path: Path) -> None:
    """``path`` is, or can be created as, a directory this process can write in."""
    _check_dir(option, path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option} {path}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {probe.absolute()} is not writable; choose another")


INCLUDE = "a Python file defining BENCH_DETECTORS / BENCH_DATASETS (repeatable)"
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Forward-Forward one-class benchmark: FF detectors, their backprop twins "
        "and PyOD baselines, tracked in MLflow.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list registered detectors, datasets or suites")
    ls.add_argument("what", nargs="?", choices=["detectors", "datasets", "suites"])
    ls.add_argument("--include", action="append", default=[], metavar="FILE.py", help=INCLUDE)

    run = sub.add_parser("run", help="run a sweep of trials into MLflow")
    run.add_argument(
        "--config",
        type=Path,
        metavar="SWEEP.toml",
        help="sweep file: detectors, datasets or suite, seeds, hyperparameters and grids "
        "(the flags below override it)",
    )
    run.add_argument("--include", action="append", default=[], metavar="FILE.py", help=INCLUDE)
    run.add_argument("--all", action="store_true", help="every detector of the suite")
    run.add_argument(
        "-d",
        "--detector",
        action="append",
        default=[],
        metavar="PATTERN",
        help="detector name or glob, e.g. 'ff-*' (repeatable)",
    )
    run.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="dataset name or glob (repeatable); default: the suite's datasets",
    )
    run.add_argument("--suite", help="embedded (default), paper, images, adbench, memory")
    run.add_argument("--seeds", type=int, metavar="N", help="seeds 0..N-1 (3)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameter override, JSON value (repeatable)",
    )
    run.add_argument(
        "--workers",
        type=int,
        help="parallel trial processes (default: number of cores)",
    )
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], help="auto (default)")
    run.add_argument("--executor", choices=["local", "ray"], help="local (default)")
    run.add_argument("--ray-address", help="Ray cluster address ('auto' on a cluster node)")
    run.add_argument("--experiment", help="MLflow experiment (default bench-<suite>)")
    run.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's own)")
    run.add_argument(
        "--data-dir", type=Path, help="data directory (default $BENCH_DATA_DIR or a per-user cache)"
    )
    run.add_argument("--rerun", action="store_true", help="run trials already finished too")
    run.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="write a markdown/LaTeX report from MLflow runs")
    rep.add_argument(
        "--experiment",
        action="append",
        default=[],
        metavar="NAME",
        help="experiment(s) to report (default bench-embedded)",
    )
    rep.add_argument("--tracking-uri")
    rep.add_argument("--out", type=Path, default=Path("bench-report"))
    rep.add_argument("--no-log", action="store_true", help="do not log the report to MLflow")
    rep.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="KEY",
        help="an ablation table per swept hyperparameter, e.g. hp.lr (repeatable)",
    )
    return parser


def _plugins(includes: list[str]) -> None:
    """Load installed plugins and ``--include`` files; a plugin left out is one line."""
    from bench import plugins

    for problem in plugins.load(includes):
        print(f"warning: {problem}", file=sys.stderr)


def _origin(kind: str, name: str) -> str:
    from bench import plugins

    info = plugins.ORIGIN.get((kind, name))
    return f"  (plugin {info.name} {info.version})".rstrip() if info else ""


def _list(what: str | None, includes: list[str]) -> int:
    from bench.detectors import DETECTORS
    from bench.suites import SUITES
    from datasets import DATASETS

    _plugins(includes)
    if what in (None, "detectors"):
        print("detectors:")
        for name, spec in DETECTORS.items():
            twin = f"  twin: {spec.twin}" if spec.twin else ""
            origin = _origin("detector", name)
            print(f"  {name:28s} [{spec.family}] {spec.description}{twin}{origin}")
    if what in (None, "datasets"):
        print("datasets:")
        for name, data in DATASETS.items():
            classes = len(data.normal_classes)
            origin = _origin("dataset", name)
            print(
                f"  {name:28s} [{data.kind}, {classes} normal class(es)] {data.description}"
                f"{origin}"
            )
    if what in (None, "suites"):
        print("suites:")
        for name, suite in SUITES.items():
            print(f"  {name:16s} {suite.description}")
    return EXIT_OK


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible to torch here")
    return choice


def _executor(args: argparse.Namespace, device: str) -> Any:
    if args.executor == "ray":
        from bench.ray_executor import RayExecutor

        try:
            return RayExecutor(args.ray_address, gpus_per_trial=1 if device == "cuda" else 0)
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
    from bench.executors import LocalExecutor

    return LocalExecutor(args.workers)


def _merge_sweep_file(args: argparse.Namespace) -> tuple[Any, dict[str, bool]]:
    """Fill ``args`` from ``--config`` where the command line left them unset (flags win),
    then from the defaults. Returns the sweep file (or None) and which names the command line
    gave (those the file's are not checked)."""
    given = {"detectors": bool(args.detector) or args.all, "datasets": bool(args.dataset)}
    given["suite"] = args.suite is not None
    sweep = None
    if args.config is not None:
        from bench import sweepfile

        sweep = sweepfile.read(args.config)
        file = sweep.data
        for key in RUN_DEFAULTS:
            if getattr(args, key) is None and key in file:
                value = file[key]
                if key == "data_dir":
                    value = (sweep.path.parent / value).expanduser()
                setattr(args, key, value)
        if not given["detectors"]:
            args.detector = list(file.get("detectors", []))
            args.all = bool(file.get("all", False))
        if not given["datasets"]:
            args.dataset = list(file.get("datasets", []))
        args.rerun = args.rerun or bool(file.get("rerun", False))
        args.include = [*sweep.includes, *args.include]
    for key, default in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.workers is None:
        args.workers = os.cpu_count() or 1
    return sweep, given


def _names(names: list[str], shown: int = 4) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _pairs_text(skips: list[Any], shown: int = 8) -> str:
    """Skipped (detector, dataset) pairs in a line: as detectors x datasets when they are all
    the pairs of those, else the first few (the sweep's summary run lists every one)."""
    detectors = list(dict.fromkeys(s.detector for s in skips))
    datasets = list(dict.fromkeys(s.dataset for s in skips))
    if len(skips) > shown and len(skips) == len(detectors) * len(datasets):
        return f"detectors {_names(detectors)} on datasets {_names(datasets)}"
    pairs = [f"{s.detector} on {s.dataset}" for s in skips]
    rest = len(pairs) - shown
    more = f", and {rest} more (in the summary run)" if rest > 0 else ""
    return ", ".join(pairs[:shown]) + more


def _run(args: argparse.Namespace) -> int:
    # Usage errors (names, values) come first, before torch, PyOD or MLflow is imported.
    sweep, given = _merge_sweep_file(args)
    if args.seeds < 1 or args.workers < 1:
        raise UsageError("--seeds and --workers must be at least 1")
    overrides = dict(_key_value(text) for text in args.param)
    env_dir = os.environ.get("BENCH_DATA_DIR")
    _check_dir("--data-dir", args.data_dir)
    _check_dir("BENCH_DATA_DIR", Path(env_dir) if env_dir and not args.data_dir else None)

    from bench.detectors import select_detectors
    from bench.plan import Skip, plan_sweep
    from bench.suites import SUITES, Suite
    from datasets import DATASETS, default_data_dir

    _plugins(args.include)
    if sweep is not None:
        from bench import sweepfile

        sweepfile.check_names(sweep, given)

    if args.dataset and not args.suite:
        suite = Suite("custom", "datasets named on the command line", list)
    else:
        suite = SUITES.get(args.suite or "embedded")
    datasets = DATASETS.select(args.dataset) if args.dataset else suite.datasets()
    patterns = list(args.detector) or (list(suite.detectors) if args.all else [])
    if not patterns:
        raise UsageError("choose detectors: --all, or -d PATTERN (see `python -m bench list`)")
    detectors = select_detectors(patterns)
    if not args.detector:  # the suite's --all
        detectors = [d for d in detectors if not suite.excludes(d)]
    points = None
    if sweep is not None:
        points = sweepfile.points(sweep, detectors, strict=not given["detectors"])
    try:
        plan = plan_sweep(detectors, datasets, suite, range(args.seeds), overrides, points)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.dry_run:  # the store, before anything slow: unreachable, read-only, ...
        from bench.tracking import check_store, resolve_tracking_uri

        check_store(resolve_tracking_uri(args.tracking_uri))
    from bench.executors import RunOptions
    from bench.runner import run_sweep, unavailable_datasets
    from bench.tracking import Store

    by_reason: dict[str, list[Any]] = {}
    for skip in plan.skipped:
        by_reason.setdefault(skip.reason, []).append(skip)
    for reason, skips in by_reason.items():
        print(f"skipped {len(skips)} pair(s) ({reason}): {_pairs_text(skips)}")
    if args.dry_run:
        for trial in plan.trials:
            print(f"{trial.key}  {trial.run_name}  {json.dumps(trial.hparams, sort_keys=True)}")
        print(f"{len(plan.trials)} trial(s) planned, {len(plan.skipped)} pair(s) skipped")
        return EXIT_OK

    data_dir = args.data_dir or default_data_dir()
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
    device = _device(args.device)
    executor = _executor(args, device)
    experiment = args.experiment = args.experiment or f"bench-{suite.name}"
    store = Store(experiment, args.tracking_uri)
    workers = getattr(executor, "workers", args.workers)
    options = RunOptions(
        device,
        data_dir,
        threads_per_trial=max(1, (os.cpu_count() or 1) // workers),
        includes=tuple(str(Path(p).resolve()) for p in args.include),
    )
    summary = run_sweep(
        plan,
        store,
        executor,
        options,
        rerun=args.rerun,
        progress=not args.no_progress,
        sweep_file=sweep.path if sweep is not None else None,
    )
    _print_summary(summary, store, workers)
    return EXIT_FAILED if summary.failed or missing else EXIT_OK


def _with_data(trial: Any, digests: dict[str, str]) -> Any:
    """``trial`` with its data files' sha256 (part of its hash), when they are known."""
    import dataclasses

    digest = digests.get(trial.dataset, "")
    return dataclasses.replace(trial, data_sha256=digest) if digest else trial


def _print_summary(summary: Any, store: Any, workers: int) -> None:
    import pandas as pd

    if summary.auroc:
        rows = [
            {"detector": d, "dataset": ds, "auroc": sum(v) / len(v)}
            for (d, ds), v in summary.auroc.items()
        ]
        table = pd.DataFrame(rows).pivot(index="detector", columns="dataset", values="auroc")
        print("\nmean AUROC of this sweep's trials (detector x dataset):")
        print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    ran = summary.finished + len(summary.failed)
    print(
        f"\n{summary.planned} planned, {summary.already_done} already finished, "
        f"{summary.finished} finished now, {len(summary.failed)} failed, "
        f"{len(summary.skipped)} pair(s) skipped"
    )
    if ran:
        print(
            f"wall {summary.wall_seconds:.1f} s on {workers} worker(s), fit+score "
            f"{summary.busy_seconds:.1f} s, harness overhead {summary.overhead(workers):.1%}; "
            f"driver CPU {summary.driver_cpu_seconds:.1f} s (claims, results, MLflow writes)"
        )
    if summary.elsewhere:
        print(
            f"{summary.elsewhere} trial(s) were claimed by another sweep running on this "
            "experiment; that sweep records them"
        )
    for result in summary.failed:
        print(f"  FAILED {result.trial.run_name}: {result.error}")
    print(f"results: experiment {store.experiment!r} in {store.tracking_uri}")
    print(f"artifacts: {store.artifact_root}")
    print(f"browse:  mlflow ui --backend-store-uri {store.tracking_uri}")
    from bench.tracking import ui_url

    print(f"         then {ui_url(store.experiment_id)}")


def _report(args: argparse.Namespace) -> int:
    _check_writable_dir("--out", args.out)  # before MLflow is imported
    from bench.tracking import check_store, open_client, resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    check_store(uri, create=False, write=not args.no_log)  # never creates a store
    client = open_client(uri)
    existing = sorted(e.name for e in client.search_experiments() if e.name != "Default")
    experiments = args.experiment or ["bench-embedded"]
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

    from reports import build_report
    from reports.ablation import UnknownGroupKey

    try:
        path = build_report(
            experiments, uri, args.out, log=not args.no_log, group_by=args.group_by
        )
    except UnknownGroupKey as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"cannot write the report to {args.out}: {exc}") from None
    print(f"report written to {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        if args.command == "list":
            return _list(args.what, args.include)
        if args.command == "run":
            return _run(args)
        return _report(args)
    except (UnknownNameError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(
            f"\n{how}: workers stopped, finished trials are saved; run the same command to "
            "resume",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
