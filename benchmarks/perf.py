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


def harness_overhead(workers: int) -> str:
    """Run ``python -m bench run --all`` (embedded) into a fresh store: the CLI's own line,
    and the driver's CPU per trial against a trial's fit+score."""
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
    finished = re.search(r"(\d+) finished now", out.stdout)
    if not line or not finished:
        return f"no overhead line (exit {out.returncode})"
    busy, driver = (
        float(re.search(rf"{key} ([\d.]+) s", line.group(0)).group(1))  # type: ignore[union-attr]
        for key in (r"fit\+score", "driver CPU")
    )
    trials = int(finished.group(1))
    per_trial, fit = driver / trials * 1e3, busy / trials * 1e3
    return (
        f"{line.group(0)}\n  per trial: driver CPU {per_trial:.1f} ms, fit+score {fit:.1f} ms; "
        f"the driver's share of the work: {per_trial / (per_trial + fit):.1%}"
    )


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
        print("  " + harness_overhead(args.workers))


if __name__ == "__main__":
    main()
