"""``python -m bench``: list, run and report; ``run`` and ``report`` parse their flags into
API calls (:func:`bench.sweep.run`, :func:`bench.api.report`)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bench import api, sweep
from bench.errors import StoreError, UsageError
from bench.sweep import SweepOptions
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
        if raw.strip()[:1] in ("[", "{", '"') or raw.strip().startswith(("-", *"0123456789")):
            raise UsageError(
                f"--param {key}={raw}: not valid JSON ({err.msg} at character {err.pos}); "
                f"e.g. {key}=[64,32], {key}=0.01, {key}=true or {key}='\"text\"'"
            ) from None
        return key, raw


INCLUDE = "a Python file defining BENCH_DETECTORS / BENCH_DATASETS (repeatable)"


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


def _origin(kind: str, name: str) -> str:
    from bench import plugins

    info = plugins.ORIGIN.get((kind, name))
    return f"  (plugin {info.name} {info.version})".rstrip() if info else ""


def _list(what: str | None, includes: list[str]) -> int:
    from bench.detectors import DETECTORS
    from bench.suites import SUITES
    from datasets import DATASETS

    sweep.load_plugins(includes)
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
                f"  {name:28s} [{data.kind}, {classes} normal class(es)] {data.description}{origin}"
            )
    if what in (None, "suites"):
        print("suites:")
        for name, suite in SUITES.items():
            print(f"  {name:16s} {suite.description}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    options = SweepOptions(
        detectors=args.detector,
        datasets=args.dataset,
        all=args.all,
        suite=args.suite,
        seeds=args.seeds,
        params=dict(_key_value(text) for text in args.param),
        config=args.config,
        include=args.include,
        workers=args.workers,
        device=args.device,
        executor=args.executor,
        ray_address=args.ray_address,
        experiment=args.experiment,
        tracking_uri=args.tracking_uri,
        data_dir=args.data_dir,
        rerun=args.rerun,
        dry_run=args.dry_run,
        progress=not args.no_progress,
    )
    return EXIT_OK if sweep.run(options).ok else EXIT_FAILED


def _report(args: argparse.Namespace) -> int:
    path = api.report(
        args.experiment, args.tracking_uri, args.out, log=not args.no_log, group_by=args.group_by
    )
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
            f"\n{how}: workers stopped, finished trials are saved; run the same command to resume",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
