"""FF's peak training memory stays flat in depth; its backprop twins' grows by a layer's graph
per layer. The bounds below are derived from what each rule must hold, not read off one
machine.

The network (``tests/memory_probe.py``): an MLP of ``depth`` layers, each WIDTH wide, on WIDTH
input features, batch BATCH, float32, plain SGD (no optimizer state), depths 2 and 8. One
ACTIVATION is a (BATCH, WIDTH) float32 tensor.

Two checks:

- **What autograd holds** (exact, no allocator involved): the saved tensors of every live graph,
  counted by storage. An FF layer's graph holds 3 activations (the linear layer's normalised
  input, the LeakyReLU's output, the loss's difference from the centre; its input is detached, so
  the normalisation saves nothing). FF holds one layer's graph at a time, so its peak is 3
  activations at any depth; backprop keeps every layer's graph (and the normalisations'), so
  from depth 2 to 8 it grows by at least 6 such graphs.
- **What the heap holds** (the malloc and memray meters, in fresh processes under several
  allocator settings, so a pass that depends on one allocator's rounding is caught here). FF's
  peak at depth 8 is set by one middle layer's step: its graph (3 activations), its input (the
  previous layer's output, alive while the layer runs) and the backward pass's gradient of an
  activation (2 more), and the layer's weight gradient. The depth-2 peak holds at least none of
  that, and BLAS scratch is the same at both depths (same matrix shapes), so FF may grow by at
  most that much: 6 activations at this shape (measured: 0.24 MB here, 0.79-0.94 MB on CI's
  machine). FF keeping every layer's graph grows by about 4.7-5.1 MB, 3 times the bound.
  Backprop grows by at least 0.8 of 6 layers' graphs of 2 activations (what the allocator may
  reuse), and holds that much more than FF at the same depth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from memory_probe import BATCH, DEPTHS, WIDTH, graph_peaks  # pytest puts tests/ on sys.path

from bench import allocmeter
from bench.meters import MALLOC, MEMRAY

FLOAT = 4
ACTIVATION = BATCH * WIDTH * FLOAT  # one saved (BATCH, WIDTH) float32 tensor
FF_LAYER_GRAPH = 3 * ACTIVATION  # normalised input, LeakyReLU output, difference from the centre
GRAPH_PER_LAYER = 2 * ACTIVATION  # at least: a linear layer's input and its activation's input
WEIGHT_GRAD = WIDTH * WIDTH * FLOAT
ADDED = DEPTHS[1] - DEPTHS[0]  # layers added from the shallow to the deep network

BP_GROWTH_FLOOR = 0.8 * ADDED * GRAPH_PER_LAYER  # every added layer's graph is kept
# one middle layer's step: its graph, its input and an activation's gradient, its weight gradient
FF_GROWTH_BOUND = FF_LAYER_GRAPH + 2 * ACTIVATION + WEIGHT_GRAD

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {  # (meter, environment): glibc's arenas and trim, threads (BLAS scratch)
    "malloc-default": (MALLOC, {}),
    "malloc-one-arena": (MALLOC, {"MALLOC_ARENA_MAX": "1"}),
    "malloc-no-top-pad": (MALLOC, {"MALLOC_TOP_PAD_": "0"}),
    "malloc-one-thread": (MALLOC, {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}),
    "memray-default": (MEMRAY, {}),
}


def probe(meter: str, extra: dict[str, str]) -> dict[str, float]:
    """The probe's peaks in a fresh process with ``extra`` set and ``meter`` active."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", *extra)} | extra
    if meter == MALLOC:
        if allocmeter.library() is None:
            pytest.skip("no C compiler for the malloc meter")
        env = allocmeter.preload_env(env)
    out = subprocess.run([sys.executable, "-m", "tests.memory_probe"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["meters"] == [meter]
    return got["peaks"]


def test_autograd_holds_one_ff_layer_graph_at_a_time_and_every_bp_layer_graph():
    held = graph_peaks()
    shallow, deep = DEPTHS
    for kind, twins in (("fit", ("bp", "bpl")), ("online", ("bp",))):
        assert held[f"{kind}.ff{shallow}"] == held[f"{kind}.ff{deep}"] == FF_LAYER_GRAPH, kind
        for twin in twins:
            growth = held[f"{kind}.{twin}{deep}"] - held[f"{kind}.{twin}{shallow}"]
            assert growth >= ADDED * FF_LAYER_GRAPH, (kind, twin, growth)


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_ff_peak_is_flat_in_depth_and_the_twins_grow_by_a_graph_per_layer(setting):
    peaks = probe(*SETTINGS[setting])
    shallow, deep = DEPTHS
    for kind, twins in (("fit", ("bp", "bpl")), ("online", ("bp",))):
        ff_growth = peaks[f"{kind}.ff{deep}"] - peaks[f"{kind}.ff{shallow}"]
        assert ff_growth <= FF_GROWTH_BOUND, (kind, ff_growth)
        for twin in twins:
            growth = peaks[f"{kind}.{twin}{deep}"] - peaks[f"{kind}.{twin}{shallow}"]
            assert growth >= BP_GROWTH_FLOOR, (kind, twin, growth)
            # BLAS scratch is paid by both alike: compare bytes at the same depth too
            saved = peaks[f"{kind}.{twin}{deep}"] - peaks[f"{kind}.ff{deep}"]
            assert saved >= BP_GROWTH_FLOOR, (kind, twin, saved)
