"""FF's online learner: the same update as ff.training's steps, and one layer's graph at a time
(peak update memory flat in depth, measured like the memory suite)."""

import copy

import numpy as np
import pytest
import torch

from bench import allocmeter
from bench.meters import MALLOC, MEMRAY, measure_fit, warm_up
from ff.online import OnlineOneClassLearner
from ff.training import bp_step, ff_step, make_optimizer

WIDTH, BATCH = 256, 256
ANALYTIC_PER_LAYER = BATCH * WIDTH * 4 * 2  # float32, two saved tensors per layer


@pytest.mark.parametrize("mode", ["ff", "bp", "bpl"])
@pytest.mark.parametrize("objective", ["hb-svdd", "goodness"])
def test_one_online_batch_is_the_training_step_of_its_mode(mode, objective):
    """score_learn takes ff_step's (sequential) or bp_step's update, and its scores are the
    pre-update layer scores of the same pass."""
    X = np.random.default_rng(0).standard_normal((48, 10)).astype(np.float32)
    learner = OnlineOneClassLearner(objective, mode, seed=1, widths=[12, 8, 4])
    learner.start(X[:32])
    net, targets = copy.deepcopy(learner._net), copy.deepcopy(learner._targets)
    if mode == "ff":
        opts = [make_optimizer(list(x.parameters()), "adam", 1e-3, 1e-6) for x in net.layers]
        step = ff_step(net, targets, opts, fused=False)
    else:
        step = bp_step(net, targets, make_optimizer(list(net.parameters()), "adam", 1e-3, 1e-6))
    scores = learner.score_learn(X[32:])
    stats = step(torch.as_tensor(X[32:]))
    for a, b in zip(learner._net.parameters(), net.parameters(), strict=True):
        assert torch.equal(a, b)
    last = max(stats)
    expected = targets[last].score_from(stats[last].double()).numpy()
    assert np.allclose(scores["last"], expected, rtol=1e-6)
    assert learner.seconds["score"] > 0 and learner.seconds["update"] > 0


def _update_peak(mode: str, depth: int) -> float:
    X = np.random.default_rng(0).standard_normal((BATCH + 8, WIDTH)).astype(np.float32)
    learner = OnlineOneClassLearner(
        "hb-svdd", mode, widths=[WIDTH] * depth, optimizer="sgd", batch_size=BATCH, warmup=8
    )
    learner.start(X[:8])
    warm_up()
    reading = measure_fit(lambda: learner.score_learn(X[8:]), "cpu")
    assert reading.meter == (MALLOC if allocmeter.active() else MEMRAY)
    return reading.peak_train_mem_bytes


def test_ff_online_update_holds_one_layer_graph_at_a_time():
    ff2, ff8 = _update_peak("ff", 2), _update_peak("ff", 8)
    bp2, bp8 = _update_peak("bp", 2), _update_peak("bp", 8)
    assert bp8 - bp2 >= 0.8 * 6 * ANALYTIC_PER_LAYER  # the twin keeps every layer's graph
    assert ff8 - ff2 <= 0.2 * ANALYTIC_PER_LAYER
    assert bp8 - ff8 >= 0.8 * 6 * ANALYTIC_PER_LAYER  # BLAS scratch is in both: compare bytes
