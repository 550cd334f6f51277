"""Performance benchmark: FF / BP step-time ratios across widths and depths, harness overhead.

Not a unit test: numbers depend on the machine and its load; README quotes one run.

    python benchmarks/perf.py                 # step grid + harness overhead on the embedded suite
    python benchmarks/perf.py --no-harness    # step grid only

Step time is ``train_seconds / n_steps`` of a real ``ff.OneClassDetector.fit`` (the training
phase only, without the calibration pass), one torch thread, FF and its same-loss twin
interleaved ``--repeats`` times; the median per-step time of each is reported.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import ff

WIDTHS = (32, 128, 1024)
DEPTHS = (2, 8, 32)
IN_DIM = 64  # digits' 64 features
EMBEDDED = dict(widths=[128, 64, 32], batch_size=32)  # the embedded suite's MLP


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


def harness_overhead(workers: int) -> tuple[str, float]:
    """Run ``python -m bench run --all`` (embedded) into a fresh store: the CLI's own line and
    the mean fit+score milliseconds of a trial."""
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "run",
                "--all",
                "--no-progress",
                "--workers",
                str(workers),
                "--tracking-uri",
                f"sqlite:///{Path(tmp)}/mlflow.db",
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
    line = re.search(r"wall .*harness overhead .*", out.stdout)
    if not line:
        return f"no overhead line (exit {out.returncode})", float("nan")
    finished = re.search(r"(\d+) finished now", out.stdout)
    busy = re.search(r"fit\+score ([\d.]+) s", line.group(0))
    mean = float(busy.group(1)) / int(finished.group(1)) if busy and finished else float("nan")
    return line.group(0), mean * 1e3


def recording_ms(trials: int = 40) -> float:
    """Driver CPU milliseconds to claim and record one trial in a fresh SQLite store: a real
    embedded-suite trial (ff-hb-svdd-mlp on digits, with its training curves), recorded
    ``trials`` times under different seeds (distinct runs)."""
    import dataclasses
    import time

    from bench.runner import _spec_tags
    from bench.tracking import Store
    from bench.trial import Trial, execute

    trial = Trial("ff-hb-svdd-mlp", "digits", 0, 0, ff.defaults("hb-svdd", "mlp"), 2, "embedded")
    result = execute(trial, "cpu", None)
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        store = Store("perf", f"sqlite:///{Path(tmp)}/mlflow.db")
        store.record(result, _spec_tags(trial))  # warm-up: the experiment's first run
        start = time.process_time()
        for seed in range(1, trials + 1):
            copy = dataclasses.replace(result, trial=dataclasses.replace(trial, seed=seed))
            tags = _spec_tags(copy.trial)
            store.claim(copy.trial, tags=tags)
            store.record(copy, tags)
        return (time.process_time() - start) / trials * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--no-harness", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, Adam, median of {args.repeats} interleaved fits")
    print("\nembedded-suite MLP [128, 64, 32], batch 32, 64 inputs:")
    for objective in ("hb-svdd", "goodness"):
        f, b = ratio(objective, args.repeats, 4 * args.steps, **EMBEDDED)
        print(f"  {objective:9s} FF {f * 1e3:7.3f} ms  BP {b * 1e3:7.3f} ms  FF/BP {f / b:.2f}")
    print("\nhb-svdd, batch 32: FF/BP step-time ratio (FF ms / BP ms)")
    print("  depth " + "".join(f"{f'width {w}':>24s}" for w in WIDTHS))
    for depth in DEPTHS:
        cells = []
        for width in WIDTHS:
            steps = max(5, args.steps // max(1, depth * width // 256))
            f, b = ratio("hb-svdd", args.repeats, steps, widths=[width] * depth, batch_size=32)
            cells.append(f"{f / b:.2f} ({f * 1e3:.2f}/{b * 1e3:.2f})")
        print(f"  {depth:5d} " + "".join(f"{c:>24s}" for c in cells))
    f, b = ratio("hb-svdd", args.repeats, 3, widths=[1024] * 32, batch_size=512, optimizer="sgd")
    print("\nmemory-suite cell (width 1024, depth 32, batch 512, plain SGD):")
    print(f"  FF {f:.3f} s  BP {b:.3f} s  FF/BP {f / b:.2f}")
    if not args.no_harness:
        print(f"\nembedded suite, python -m bench run --all --workers {args.workers}:")
        line, busy = harness_overhead(args.workers)
        record = recording_ms()
        print(
            f"  {line}\n  mean fit+score per trial {busy:.1f} ms; driver CPU to claim and "
            f"record one trial in MLflow (SQLite) {record:.1f} ms:\n  with every core busy, "
            f"the overhead cannot fall below {record / (record + busy):.1%} for these trials"
        )


if __name__ == "__main__":
    main()
