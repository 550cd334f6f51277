"""Meters around ``fit`` and scoring: wall time, peak training memory, RSS high-water mark.

Memory meters (named on every run as ``bench.memory_meter``):

- ``malloc-peak-heap`` (CPU, local workers): peak of live malloc-family bytes during ``fit``
  above those live when it started, from the preloaded meter of ``bench.allocmeter``.
- ``memray-peak-heap`` (CPU, elsewhere): the same figure from a ``memray.Tracker`` (peak of
  the heap bytes allocated while ``fit`` runs). Both leave out what was allocated before
  ``fit`` (interpreter, libraries, data), so the figure shows what training itself holds
  (activations, grads, optimizer state) and the BLAS library's per-call scratch, which
  ``bench`` keeps per call (``MKL_DISABLE_FAST_MM``) so every fit pays it alike, whatever ran
  before it in the process (about 8 MiB with 2 threads, equal for FF and its twins at one
  width: compare them by difference as well as by ratio).
  Detectors with a ``build(sample_shape)`` method get their network built before the meter
  starts, so parameters are not counted either (``n_params`` reports them).
- ``cuda-max-allocated`` (CUDA): ``torch.cuda.max_memory_allocated`` during ``fit`` minus what
  was allocated when it started.
- ``peak_rss_bytes`` is the process' resident-set high-water mark during ``fit`` (VmHWM, reset
  before ``fit`` through ``/proc/self/clear_refs``), what an operator sees; it includes the
  interpreter and allocator caches and cannot show per-layer savings.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

from bench import allocmeter
from bench.allocmeter import HeapMeter

MALLOC = "malloc-peak-heap"
MEMRAY = "memray-peak-heap"
CUDA = "cuda-max-allocated"


@dataclass
class Reading:
    """What one metered call measured."""

    seconds: float = float("nan")
    peak_train_mem_bytes: float = float("nan")
    peak_rss_bytes: float = float("nan")
    peak_gpu_mem_bytes: float | None = None
    meter: str = ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_rss_peak() -> bool:
    """Reset VmHWM (Linux >= 4.0); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_peak_bytes() -> float:
    """VmHWM of this process in bytes (Linux), else the rusage high-water mark."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@contextmanager
def _memray_peak(reading: Reading) -> Iterator[None]:
    import memray

    with tempfile.TemporaryDirectory(prefix="bench-memray-") as tmp:
        path = os.path.join(tmp, "fit.bin")
        with memray.Tracker(path, native_traces=False, follow_fork=False):
            yield
        reading.peak_train_mem_bytes = float(memray.FileReader(path).metadata.peak_memory)
        reading.meter = MEMRAY


@contextmanager
def _malloc_peak(reading: Reading, meter: HeapMeter) -> Iterator[None]:
    start = meter.start()
    yield
    reading.peak_train_mem_bytes = float(meter.peak() - start)
    reading.meter = MALLOC


@contextmanager
def _cuda_peak(reading: Reading, device: torch.device) -> Iterator[None]:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = torch.cuda.memory_allocated(device)
    yield
    torch.cuda.synchronize(device)
    peak = float(torch.cuda.max_memory_allocated(device) - start)
    reading.peak_train_mem_bytes = reading.peak_gpu_mem_bytes = peak
    reading.meter = CUDA


@cache
def warm_up() -> None:
    """Pay torch's one-time allocations (autograd engine, kernels' scratch buffers) once per
    process, outside any meter, so the first trial of a worker is not charged for them."""
    layer = torch.nn.Linear(256, 256)
    optimizer = torch.optim.Adam(layer.parameters())
    for _ in range(2):
        layer(torch.randn(256, 256)).square().mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():  # inference matmuls take another path with its own buffers
            layer(torch.randn(256, 256)).double().square().sum(1)
    measure_fit(lambda: None, "cpu")


def measure_fit(fit: Callable[[], Any], device: str | torch.device) -> Reading:
    """Run ``fit()`` under the memory meter for ``device`` and the wall clock."""
    device = torch.device(device)
    reading = Reading()
    rss_reset = _reset_rss_peak()
    if device.type == "cuda":
        meter = _cuda_peak(reading, device)
    elif heap := allocmeter.active():
        meter = _malloc_peak(reading, heap)
    else:
        meter = _memray_peak(reading)
    with meter:
        start = time.perf_counter()
        fit()
        _sync(device)
        reading.seconds = time.perf_counter() - start
    if rss_reset:
        reading.peak_rss_bytes = _rss_peak_bytes()
    return reading


def timed(call: Callable[[], Any], device: str | torch.device) -> tuple[Any, float]:
    """``call()``'s result and its wall time, CUDA synchronised."""
    device = torch.device(device)
    _sync(device)
    start = time.perf_counter()
    out = call()
    _sync(device)
    return out, time.perf_counter() - start
