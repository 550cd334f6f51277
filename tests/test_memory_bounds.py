"""FF's peak training memory stays flat in depth; its backprop twins' grows by a layer's graph
per layer. The bounds below are derived from what each rule must hold, not read off one
machine, and are checked in fresh processes under several allocator settings and both CPU
meters, so a pass that depends on one allocator's rounding is caught here.

The network (``tests/memory_probe.py``): an MLP of ``depth`` layers, each WIDTH wide, on WIDTH
input features, batch BATCH, float32, plain SGD (no optimizer state), depths 2 and 8.

- One layer's **graph** holds at least two saved (BATCH, WIDTH) activations: the linear
  layer's input and its activation's input (the length normalisation between layers saves
  more). So backprop, which keeps every layer's graph until the backward pass, grows by at
  least 2 activations per added layer: from depth 2 to 8, at least 6 layers' graphs (0.8 of
  that, for what the allocator may reuse).
- **FF** holds one layer's graph at a time, plus that layer's weight gradient while it steps.
  Its peak is set by the largest layer: at depth 2 there is no middle layer (the first has no
  normalised input, the last no activation), so at depth 8 the largest layer's graph may hold
  up to a layer's activations more; and the step's weight gradient may be alive beside it.
  From depth 2 to 8 FF may therefore grow by one layer's graph plus one weight gradient; the
  per-layer bookkeeping (each layer's batch statistic and centre, O(BATCH + WIDTH) floats) is
  about 1% of that. FF keeping every layer's graph would grow by 6 graphs, 4 times the bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from memory_probe import BATCH, DEPTHS, WIDTH  # pytest puts tests/ on sys.path

from bench import allocmeter
from bench.meters import MALLOC, MEMRAY

FLOAT = 4
ACTIVATION = BATCH * WIDTH * FLOAT  # one saved (BATCH, WIDTH) float32 tensor
GRAPH_PER_LAYER = 2 * ACTIVATION  # at least: a linear layer's input and its activation's input
WEIGHT_GRAD = WIDTH * WIDTH * FLOAT
ADDED = DEPTHS[1] - DEPTHS[0]  # layers added from the shallow to the deep network

BP_GROWTH_FLOOR = 0.8 * ADDED * GRAPH_PER_LAYER  # every added layer's graph is kept
FF_GROWTH_BOUND = GRAPH_PER_LAYER + WEIGHT_GRAD  # one layer's graph and weight gradient

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
