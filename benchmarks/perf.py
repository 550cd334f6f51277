"""Performance benchmark: FF / BP step-time ratios across widths and depths, harness overhead.

Not a unit test: numbers depend on the machine and its load; README quotes one run.

    python benchmarks/perf.py                 # step grid + harness overhead on the embedded suite
    python benchmarks/perf.py --no-harness    # step grid only
    python benchmarks/perf.py --harness-only --adbench   # the harness lines, and ADBench's

Harness: the CLI's own line (wall, fit+score, driver CPU) for a fresh sweep; the driver's CPU
per recorded run against MLflow's own floor, a bare ``MlflowClient`` loop that records the
same runs again (read back from the sweep's store: tags, params, metrics with their curves,
dataset inputs, artifacts) into a fresh SQLite store, timed in the same run; and the sweep's
wall against (fit+score) / workers. ``--adbench`` does the same on ``ADBENCH_SETS`` of the
``adbench`` suite (every detector, one seed: trials of a second or more; needs the ADBench
files, e.g. ``BENCH_DATA_DIR=../shared/datasets``).

Step time is ``train_seconds / n_steps`` of a real ``ff.OneClassDetector.fit`` (the training
phase only, without the calibration pass), one torch thread, FF and its same-loss twin
interleaved ``--repeats`` times; the median per-step time of each is reported.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mlflow.entities import Metric, Param

import ff

BATCH = 1000  # MLflow's MAX_BATCH_ENTITIES per log_batch request

WIDTHS = (32, 128, 1024)
DEPTHS = (2, 8, 32)
IN_DIM = 64  # digits' 64 features
EMBEDDED = dict(widths=[128, 64, 32], batch_size=32)  # the embedded suite's MLP
ADBENCH_SETS = ("adbench-cardiotocography", "adbench-satimage-2", "adbench-wbc")


def step_seconds(mode: str, objective: str, steps: int, **hp: object) -> float:
    """Seconds per training step of one fit (training phase only)."""
    batch = int(hp.get("batch_size", 32))  # type: ignore[arg-type]
    X = np.random.default_rng(0).standard_normal((batch * 8, IN_DIM)).astype(np.float32)
    det = ff.OneClassDetector(objective, "mlp", mode, max_steps=steps, **hp)
    det.build(X.shape[1:]).fit(X)
    return det.phase_seconds["train"] / det.n_steps


def ratio(objective: str, repeats: int, steps: int, **hp: object) -> tuple[float, float]:
    """Median FF and BP (same-loss twin) seconds per step, interleaved."""
    step_seconds("ff", objective, 5, **hp)  # warm-up
    ff_t, bp_t = [], []
    for _ in range(repeats):
        ff_t.append(step_seconds("ff", objective, steps, **hp))
        bp_t.append(step_seconds("bp", objective, steps, **hp))
    return statistics.median(ff_t), statistics.median(bp_t)


def harness_overhead(workers: int, args: list[str] | None = None) -> str:
    """Run ``python -m bench run --all`` (embedded, or ``args``) into a fresh store: the CLI's
    own line, the driver's CPU per trial against a trial's fit+score, and against a bare
    MlflowClient loop recording the same runs into another fresh store."""
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        uri = f"sqlite:///{Path(tmp)}/mlflow.db"
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "run",
                *(args or ["--all"]),
                "--no-progress",
                "--workers",
                str(workers),
                "--tracking-uri",
                uri,
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
        line = re.search(r"wall .*harness overhead .*", out.stdout)
        finished = re.search(r"(\d+) finished now", out.stdout)
        if not line or not finished:
            return f"no overhead line (exit {out.returncode})"
        n_bare, bare_cpu = bare_mlflow_cpu(Path(tmp) / "mlflow.db", Path(tmp) / "bare")
    wall, busy, driver = (
        float(re.search(rf"{key} ([\d.]+) s", line.group(0)).group(1))  # type: ignore[union-attr]
        for key in ("wall", r"fit\+score", "driver CPU")
    )
    trials = int(finished.group(1))
    per_trial, fit = driver / trials * 1e3, busy / trials * 1e3
    bare = bare_cpu / n_bare * 1e3
    return (
        f"{line.group(0)}\n  per trial: driver CPU {per_trial:.1f} ms, fit+score {fit:.1f} ms; "
        f"the driver's share of the work: {per_trial / (per_trial + fit):.1%}\n"
        f"  bare MlflowClient loop, the same {n_bare} runs (tags, params, metrics and curves, "
        f"inputs, artifacts) into a fresh SQLite store: {bare:.1f} ms CPU per run; harness "
        f"driver / bare: {per_trial / bare:.2f}x\n"
        f"  wall / ((fit+score) / workers): {wall / (busy / workers):.2f}x"
    )


@dataclass
class _Run:
    """One recorded run, read back: everything a bare loop needs to record it again."""

    name: str
    status: str
    start: int
    end: int
    tags: dict[str, str]
    params: list[Param]
    metrics: list[Metric]
    inputs: list
    files: list[str]


def _recorded(db: Path) -> list[_Run]:
    """The trial runs of a store (not the sweep's summary runs), read back in full: metric
    histories from the database, artifacts from their local directories."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT run_uuid, key, value, timestamp, step FROM metrics").fetchall()
    history: dict[str, list[Metric]] = {}
    for run_id, key, value, stamp, step in rows:
        history.setdefault(run_id, []).append(Metric(key, value, stamp, step))
    out = []
    for exp in client.search_experiments():
        token = None
        while True:
            page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
            for r in page:
                if "params.detector" not in {f"params.{k}" for k in r.data.params}:
                    continue
                root = Path(r.info.artifact_uri.removeprefix("file://"))
                out.append(
                    _Run(
                        r.info.run_name,
                        r.info.status,
                        r.info.start_time,
                        r.info.end_time,
                        dict(r.data.tags),
                        [Param(k, v) for k, v in r.data.params.items()],
                        history.get(r.info.run_id, []),
                        list(r.inputs.dataset_inputs) if r.inputs else [],
                        [str(p) for p in sorted(root.glob("*")) if p.is_file()],
                    )
                )
            token = page.token
            if not token:
                break
    return out


def bare_mlflow_cpu(db: Path, out: Path) -> tuple[int, float]:
    """MLflow's own floor: the store's trial runs recorded again, one run each through
    ``MlflowClient`` (create, one batch per 1000 entities, inputs, artifacts, terminate) into
    a fresh SQLite store; (runs, CPU seconds of the loop)."""
    from mlflow.tracking import MlflowClient

    runs = _recorded(db)
    out.mkdir()
    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    exp = client.create_experiment("bare", artifact_location=(out / "artifacts").as_uri())
    start = time.process_time()
    for r in runs:
        run_id = client.create_run(
            exp, start_time=r.start, tags=r.tags, run_name=r.name
        ).info.run_id
        first = BATCH - len(r.params)
        client.log_batch(run_id, metrics=r.metrics[:first], params=r.params)
        for i in range(first, len(r.metrics), BATCH):
            client.log_batch(run_id, metrics=r.metrics[i : i + BATCH])
        if r.inputs:
            client.log_inputs(run_id, datasets=r.inputs)
        for f in r.files:
            client.log_artifact(run_id, f)
        client.set_terminated(run_id, r.status, end_time=r.end)
    return len(runs), time.process_time() - start


def step_grid(repeats: int, steps: int) -> None:
    """FF / BP seconds per step on the embedded MLP, a width x depth grid, the memory cell."""
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, Adam, median of {repeats} interleaved fits")
    print("\nembedded-suite MLP [128, 64, 32], batch 32, 64 inputs:")
    for objective in ("hb-svdd", "goodness"):
        f, b = ratio(objective, repeats, 4 * steps, **EMBEDDED)
        print(f"  {objective:9s} FF {f * 1e3:7.3f} ms  BP {b * 1e3:7.3f} ms  FF/BP {f / b:.2f}")
    print("\nhb-svdd, batch 32: FF/BP step-time ratio (FF ms / BP ms)")
    print("  depth " + "".join(f"{f'width {w}':>24s}" for w in WIDTHS))
    for depth in DEPTHS:
        cells = []
        for width in WIDTHS:
            n = max(5, steps // max(1, depth * width // 256))
            f, b = ratio("hb-svdd", repeats, n, widths=[width] * depth, batch_size=32)
            cells.append(f"{f / b:.2f} ({f * 1e3:.2f}/{b * 1e3:.2f})")
        print(f"  {depth:5d} " + "".join(f"{c:>24s}" for c in cells))
    f, b = ratio("hb-svdd", repeats, 3, widths=[1024] * 32, batch_size=512, optimizer="sgd")
    print("\nmemory-suite cell (width 1024, depth 32, batch 512, plain SGD):")
    print(f"  FF {f:.3f} s  BP {b:.3f} s  FF/BP {f / b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--no-harness", action="store_true")
    parser.add_argument("--harness-only", action="store_true", help="skip the step grid")
    parser.add_argument("--adbench", action="store_true", help="also time ADBENCH_SETS")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.harness_only:
        step_grid(args.repeats, args.steps)
    if not args.no_harness:
        print(f"\nembedded suite, python -m bench run --all --workers {args.workers}:")
        print("  " + harness_overhead(args.workers))
    if args.adbench:
        sets = [a for d in ADBENCH_SETS for a in ("--dataset", d)]
        print(f"\nadbench suite on {', '.join(ADBENCH_SETS)}, every detector, 1 seed:")
        print(
            "  "
            + harness_overhead(args.workers, ["--suite", "adbench", "--all", "--seeds", "1", *sets])
        )


if __name__ == "__main__":
    main()
