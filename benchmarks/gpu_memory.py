"""The memory suite on a CUDA device: peak GPU memory of every trial, one fresh process each.

Not a unit test: it needs a GPU. ``benchmarks/gpu_memory.sh`` runs it; on a machine without
CUDA it says so and exits 0.

    python benchmarks/gpu_memory.py [--suite memory|memory-adam] [--parallel 4] [--seeds 1]

Every trial of the suite's plan (the same detectors, grid and synthetic data as
``python -m bench run --suite memory``) runs through the harness's own ``bench.worker.execute``
on ``cuda`` in a new Python process, so no allocator cache, CUDA context or earlier trial is
shared: the meter is ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``,
above what was allocated when ``fit`` began (parameters are allocated before it). Several
processes share the device at once (``--parallel``); each reads only its own allocations.
Prints peak MiB per depth and detector, each twin over FF, and seconds per step.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys
from bench.trial import Trial
from bench.worker import execute
t = Trial(**json.loads(sys.argv[1]))
r = execute(t, "cuda", None)
print(json.dumps({"status": r.status, "error": r.error, "metrics": r.metrics}))
"""


def plan(suite: str, seeds: int) -> list:
    """The suite's trials, as ``python -m bench run --suite <suite> --all`` plans them."""
    from bench.detectors import select_detectors
    from bench.plan import plan_sweep
    from bench.suites import SUITES

    s = SUITES.get(suite)
    detectors = select_detectors(list(s.detectors))
    return plan_sweep(detectors, s.datasets(), s, range(seeds), {}).trials


def run_one(trial) -> dict:
    """One trial in a fresh interpreter on the GPU; its metrics, or the error."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(asdict(trial))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"status": "FAILED", "error": (out.stderr or out.stdout)[-400:], "metrics": {}}
    return json.loads(lines[-1])


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="memory", choices=("memory", "memory-adam"))
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_memory: no CUDA device on this machine; nothing measured (exit 0).")
        return 0
    trials = plan(args.suite, args.seeds)
    print(
        f"suite {args.suite}: {len(trials)} trials on {torch.cuda.get_device_name(0)}, "
        f"torch {torch.__version__}, {args.parallel} at a time, a fresh process each"
    )
    start = time.time()
    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(run_one, trials))
    peak: dict[tuple[str, int], list[float]] = {}
    step: dict[tuple[str, int], list[float]] = {}
    for t, r in zip(trials, results, strict=True):
        depth = len(t.hparams["widths"])
        if r["status"] != "FINISHED":
            print(f"  FAILED {t.detector} depth {depth}: {r['error'].strip()[-200:]}")
            continue
        m = r["metrics"]
        peak.setdefault((t.detector, depth), []).append(m["peak_gpu_mem_bytes"] / 2**20)
        if "step_seconds" in m:
            step.setdefault((t.detector, depth), []).append(m["step_seconds"])
    _print(peak, step, {t.detector: _ff_of(t.detector) for t in trials})
    print(f"wall {time.time() - start:.0f} s")
    return 0 if len(peak) * args.seeds == len(trials) else 1


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _ff_of(detector: str) -> str:
    """The FF detector a memory-suite detector is compared with: itself, or its twin."""
    from bench.detectors import DETECTORS

    spec = DETECTORS.get(detector)
    return detector if spec.family == "ff" else spec.twin


def _print(peak: dict, step: dict, ff_of: dict[str, str]) -> None:
    """Depth x detector: peak MiB, the ratio over its FF detector, and seconds per step."""
    detectors = sorted({d for d, _ in peak}, key=lambda d: (ff_of[d], d != ff_of[d], d))
    depths = sorted({k for _, k in peak})
    print("\npeak GPU memory during fit (MiB) | twin / FF | s per step")
    for det in detectors:
        ff = ff_of[det]
        cells = []
        for depth in depths:
            if (det, depth) not in peak:
                cells.append(f"{'—':>22s}")
                continue
            mib = _mean(peak[(det, depth)])
            ratio = mib / _mean(peak[(ff, depth)]) if (ff, depth) in peak else float("nan")
            sec = _mean(step[(det, depth)]) if (det, depth) in step else float("nan")
            cells.append(f"{mib:9.1f} {ratio:5.2f}x {sec:6.3f}s")
        print(f"  {det:28s}" + "".join(cells))
    print(f"  {'depth':28s}" + "".join(f"{d:>22d}" for d in depths))


if __name__ == "__main__":
    sys.exit(main())
