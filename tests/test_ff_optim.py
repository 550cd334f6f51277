"""The lean per-layer optimizers update parameters bit-for-bit as torch's optimizers do."""

import copy

import pytest
import torch
from torch import nn

from ff.optim import LeanAdam, LeanSGD


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.BatchNorm1d(8))


@pytest.mark.parametrize(
    ("lean", "torch_opt"),
    [(LeanAdam, torch.optim.Adam), (LeanSGD, torch.optim.SGD)],
    ids=["adam", "sgd"],
)
def test_same_parameters_as_torch_optimizer_after_every_step(lean, torch_opt):
    a = _net()
    b = copy.deepcopy(a)
    ours = lean(list(a.parameters()), lr=1e-2, weight_decay=1e-3)
    theirs = torch_opt(b.parameters(), lr=1e-2, weight_decay=1e-3)
    gen = torch.Generator().manual_seed(1)
    for step in range(25):
        x = torch.randn(32, 12, generator=gen)
        frozen = step % 5 == 4  # a step where one layer has no gradient: it keeps its state
        for net, opt in ((a, ours), (b, theirs)):
            if frozen:
                net[0].requires_grad_(False)
            net(x).square().mean().backward()
            opt.step()
            opt.zero_grad()
            net[0].requires_grad_(True)
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q), step
            assert p.grad is None
    if lean is LeanAdam:  # the same state: first and second moments of every parameter
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            mine, theirs_state = ours.state[p], theirs.state[q]
            assert torch.equal(mine[0], theirs_state["exp_avg"])
            assert torch.equal(mine[1], theirs_state["exp_avg_sq"])
            assert torch.equal(mine[2], theirs_state["step"])
