"""The memory meter must see what training holds: BP grows with depth, FF does not."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ff
from bench import allocmeter
from bench.meters import MALLOC, MEMRAY, measure_fit, warm_up

WIDTH, BATCH = 256, 256
ANALYTIC_PER_LAYER = BATCH * WIDTH * 4 * 2  # float32, two saved tensors per layer


def _peak(mode: str, depth: int) -> float:
    X = np.random.default_rng(0).standard_normal((2 * BATCH, WIDTH)).astype(np.float32)
    detector = ff.OneClassDetector(
        "hb-svdd", "mlp", mode, widths=[WIDTH] * depth, batch_size=BATCH, max_steps=2,
        optimizer="sgd", score_layers="last",
    )
    detector.build(X.shape[1:])
    warm_up()
    reading = measure_fit(lambda: detector.fit(X), "cpu")
    assert reading.meter == (MALLOC if allocmeter.active() else MEMRAY)
    assert reading.seconds > 0 and reading.peak_rss_bytes > 0
    assert reading.peak_gpu_mem_bytes is None
    return reading.peak_train_mem_bytes


@pytest.mark.parametrize("twin", ["bp", "bpl"])  # same-loss and last-layer twins
def test_bp_peak_grows_with_depth_and_ff_peak_stays_flat(twin):
    bp2, bp8 = _peak(twin, 2), _peak(twin, 8)
    ff2, ff8 = _peak("ff", 2), _peak("ff", 8)
    assert bp8 - bp2 >= 0.8 * 6 * ANALYTIC_PER_LAYER
    assert ff8 - ff2 <= 0.2 * ANALYTIC_PER_LAYER  # FF holds one layer's graph at a time
    assert bp8 - ff8 >= 0.8 * 6 * ANALYTIC_PER_LAYER  # BLAS scratch is in both: compare bytes


def test_meter_counts_allocations_made_inside_fit_only():
    held = []

    def allocate() -> None:
        held.append(np.ones(4 * 2**20 // 8))  # 4 MiB kept alive by the test

    reading = measure_fit(allocate, "cpu")
    assert reading.peak_train_mem_bytes == pytest.approx(4 * 2**20, rel=0.05)
    reading = measure_fit(lambda: None, "cpu")
    assert reading.peak_train_mem_bytes < 2**20


PRELOADED = """
import json, numpy as np
from bench import allocmeter
from bench.meters import measure_fit, warm_up
import tests.test_bench_meters as t
warm_up()
held = []
four_mib = measure_fit(lambda: held.append(np.ones(2**19)), "cpu")
peaks = {f"{m}{d}": t._peak(m, d) for m in ("bp", "bpl", "ff") for d in (2, 8)}
print(json.dumps({"meter": four_mib.meter, "four_mib": four_mib.peak_train_mem_bytes, **peaks}))
"""


@pytest.mark.skipif(allocmeter.library() is None, reason="no C compiler for the malloc meter")
def test_preloaded_malloc_meter_agrees_with_the_picture(tmp_path):
    env = allocmeter.preload_env(dict(os.environ))
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", PRELOADED], env=env, cwd=root,
                         capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["meter"] == MALLOC
    assert got["four_mib"] == pytest.approx(4 * 2**20, rel=0.05)
    for twin in ("bp", "bpl"):
        assert got[f"{twin}8"] - got[f"{twin}2"] >= 0.8 * 6 * ANALYTIC_PER_LAYER
    assert got["ff8"] - got["ff2"] <= 0.2 * ANALYTIC_PER_LAYER


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trial_records_the_allocator_peak():
    from bench.trial import Trial, execute

    trial = Trial("ff-hb-svdd-mlp", "wine", 0, 0, {"epochs": 2})
    result = execute(trial, "cuda", None)
    assert result.status == "FINISHED", result.error
    assert result.tags["bench.memory_meter"] == "cuda-max-allocated"
    assert result.metrics["peak_gpu_mem_bytes"] > 0
    assert result.metrics["peak_train_mem_bytes"] == result.metrics["peak_gpu_mem_bytes"]


FIRST_FIT = """
import bench  # before torch, as the CLI and its workers import it
import json, numpy as np
import ff
from bench.meters import measure_fit, warm_up
warm_up()
X = np.random.default_rng(0).standard_normal((512, 100)).astype(np.float32)
peaks = []
for _ in range(2):
    det = ff.OneClassDetector("goodness", "mlp", "ff", widths=[1024, 1024], batch_size=128,
                              max_steps=2)
    det.build(X.shape[1:])
    peaks.append(measure_fit(lambda: det.fit(X), "cpu").peak_train_mem_bytes)
print(json.dumps(peaks))
"""


def test_first_fit_of_a_shape_is_not_charged_for_library_caches():
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", FIRST_FIT], cwd=root, capture_output=True,
                         text=True, timeout=120, check=True)
    first, second = json.loads(out.stdout.strip().splitlines()[-1])
    assert first == pytest.approx(second, rel=0.05)  # without MKL_DISABLE_FAST_MM: +40%
