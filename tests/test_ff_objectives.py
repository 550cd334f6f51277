"""Each objective's loss and score against a hand computation; the SVDD centre and radius rules."""

import math

import numpy as np
import pytest
import torch

import ff
from ff.objectives import make_objective

H = torch.tensor([[1.0, 2.0], [0.0, -1.0]])  # sum(h^2) = [5, 1]


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


@pytest.mark.parametrize(("name", "fn"), [("goodness", softplus), ("sigmoid-goodness", sigmoid)])
def test_goodness_by_hand(name, fn):
    obj = make_objective(name, theta=1.0, nu=0.1, eps=0.1)
    want = [fn(5 - 1), fn(1 - 1)]
    assert torch.allclose(obj.score(H), torch.tensor(want))
    assert obj.loss(H).item() == pytest.approx(sum(want) / 2, rel=1e-6)


def test_centre_pushes_small_coordinates_to_eps():
    obj = make_objective("hb-svdd", theta=1.0, nu=0.1, eps=0.1)
    obj.set_centre(torch.tensor([0.05, -0.05, 0.0, 1.0, -0.3]))
    assert torch.allclose(obj.centre, torch.tensor([0.1, -0.1, 0.1, 1.0, -0.3]))


def test_hard_boundary_by_hand():
    obj = make_objective("hb-svdd", theta=1.0, nu=0.1, eps=0.1)
    obj.set_centre(torch.tensor([1.0, 1.0]))
    d = [(1 - 1) ** 2 + (2 - 1) ** 2, (0 - 1) ** 2 + (-1 - 1) ** 2]  # [1, 5]
    assert torch.allclose(obj.score(H), torch.tensor(d, dtype=torch.float32))
    assert obj.loss(H).item() == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["sb-svdd", "ls-svdd"])
def test_radius_objectives_by_hand(name):
    nu, r2 = 0.25, 2.0
    obj = make_objective(name, theta=1.0, nu=nu, eps=0.1)
    obj.set_centre(torch.tensor([1.0, 1.0]))
    obj.r2 = r2
    d = np.array([1.0, 5.0])
    if name == "sb-svdd":
        want = r2 + np.maximum(0, d - r2).mean() / nu  # 2 + 1.5 / 0.25 = 8
    else:
        want = r2 + ((d - r2) ** 2).mean() / nu  # 2 + 5 / 0.25 = 22
    assert obj.loss(H).item() == pytest.approx(want)
    assert torch.allclose(obj.score(H), torch.tensor(d - r2, dtype=torch.float32))


@pytest.mark.parametrize("name", ["sb-svdd", "ls-svdd"])
def test_radius_is_the_nu_quantile(name):
    obj = make_objective(name, theta=1.0, nu=0.1, eps=0.1)
    dists = torch.arange(100, dtype=torch.float32)
    obj.update_radius(dists)
    assert obj.r2 == pytest.approx(np.quantile(np.arange(100.0), 0.9))


@pytest.mark.parametrize("name", ["sb-svdd", "ls-svdd"])
def test_fitted_radius_leaves_nu_of_training_data_outside(name):
    # lr=0 keeps the network fixed, so the radius must be the quantile of the final distances
    X = np.random.default_rng(0).normal(size=(200, 5))
    det = ff.OneClassDetector(name, "mlp", nu=0.2, lr=0.0, epochs=2, score_layers="last")
    outside = (det.fit(X).score_samples(X) > 0).mean()
    assert outside == pytest.approx(0.2, abs=0.01)
