"""FF's online learner takes the same update as ff.training's steps (its peak update memory,
flat in depth, is checked in ``tests/test_memory_bounds.py``)."""

import copy

import numpy as np
import pytest
import torch

from ff.online import OnlineOneClassLearner
from ff.training import bp_step, ff_step, make_optimizer


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
