"""FF isolates layers; the BP twin trains every layer; sequential FF equals the fused step."""

import numpy as np
import pytest
import torch

import ff
from ff.networks import build_cnn, build_mlp
from ff.objectives import make_objective
from ff.training import bp_step, init_centres, make_optimizer

X = np.random.default_rng(1).normal(size=(64, 6)).astype(np.float32)


def nets():
    g = torch.Generator().manual_seed(0)
    yield build_mlp(6, [16, 8, 4], bias=True, slope=0.01, generator=g), torch.from_numpy(X)
    images = torch.randn(8, 1, 16, 16, generator=g)
    yield build_cnn((1, 16, 16), [4, 2], 8, bias=False, slope=0.01, generator=g), images


@pytest.mark.parametrize("objective", ["goodness", "hb-svdd"])
@pytest.mark.parametrize("case", list(nets()), ids=["mlp", "cnn"])
def test_ff_layer_loss_reaches_no_earlier_layer(case, objective):
    net, x = case
    n = len(net.layers)
    targets = {k: make_objective(objective, 1.0, 0.1, 0.1) for k in range(n)}
    init_centres(net, targets, x, batch_size=32)
    for k, h in enumerate(net.outputs(x, detach=True)):
        net.zero_grad(set_to_none=True)
        targets[k].loss(h).backward()
        for j, layer in enumerate(net.layers):
            grads = [p.grad for p in layer.parameters()]
            if j == k:
                assert all(g is not None and g.abs().sum() > 0 for g in grads)
            else:
                assert all(g is None for g in grads), f"layer {k}'s loss reached layer {j}"


@pytest.mark.parametrize("case", list(nets()), ids=["mlp", "cnn"])
def test_bp_one_step_moves_every_layer(case):
    net, x = case
    last = len(net.layers) - 1
    targets = {last: make_objective("hb-svdd", 1.0, 0.1, 0.1)}
    init_centres(net, targets, x, batch_size=32)
    before = [[p.detach().clone() for p in layer.parameters()] for layer in net.layers]
    step = bp_step(net, targets, make_optimizer(list(net.parameters()), "sgd", 0.1, 0.0))
    step(x)
    for k, layer in enumerate(net.layers):
        for p, p0 in zip(layer.parameters(), before[k], strict=True):
            assert not torch.equal(p, p0), f"layer {k} did not move in bp mode"


def test_bp_detector_first_layer_moves():
    fitted = ff.OneClassDetector("hb-svdd", "mlp", "bp", max_steps=1, optimizer="sgd").fit(X)
    fixed = ff.OneClassDetector("hb-svdd", "mlp", "bp", lr=0.0, max_steps=1).fit(X)
    w1 = fitted._net.layers[0][0].weight
    w0 = fixed._net.layers[0][0].weight
    assert fitted.n_steps == 1
    assert not torch.equal(w1, w0)


def _state(det: ff.OneClassDetector) -> dict:
    return det._net.state_dict()


@pytest.mark.parametrize("objective", ["goodness", "sb-svdd"])
@pytest.mark.parametrize(
    ("arch", "data"), [("mlp", X), ("cnn", np.random.default_rng(2).normal(size=(16, 1, 8, 8)))]
)
@pytest.mark.parametrize(("optimizer", "steps"), [("sgd", 1), ("adam", 3)])
def test_sequential_equals_fused(objective, arch, data, optimizer, steps):
    hp = dict(optimizer=optimizer, max_steps=steps, lr=0.05, batch_size=8)
    if arch == "cnn":
        hp |= dict(channels=[4, 2], rep_dim=4)
    seq = ff.OneClassDetector(objective, arch, update="sequential", **hp).fit(data)
    fused = ff.OneClassDetector(objective, arch, update="fused", **hp).fit(data)
    init = ff.OneClassDetector(objective, arch, **(hp | dict(lr=0.0))).fit(data)
    assert seq.n_steps == fused.n_steps == steps
    for key, value in _state(seq).items():
        assert torch.allclose(value, _state(fused)[key], atol=1e-6), key
        if key.endswith("weight"):
            assert not torch.equal(value, _state(init)[key]), f"{key} did not train"


def test_sgd_holds_no_optimizer_state():
    params = [torch.nn.Parameter(torch.ones(3))]
    opt = make_optimizer(params, "sgd", 0.1, 0.0)
    params[0].sum().backward()
    opt.step()
    assert opt.state == {}
    adam = make_optimizer(params, "adam", 0.1, 0.0)
    adam.step()
    assert [t.shape for t in adam.state[params[0]]] == [(3,), (3,), ()]  # the meter sees it


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("objective", ["goodness", "hb-svdd"])
def test_same_loss_twin_differs_from_ff_only_across_layer_boundaries(objective, optimizer):
    hp = dict(optimizer=optimizer, max_steps=2, lr=0.05, batch_size=16)

    def state(mode, widths):
        det = ff.OneClassDetector(objective, "mlp", mode, widths=widths, **hp).fit(X)
        return det._net.state_dict()

    one_ff, one_bp = state("ff", [5]), state("bp", [5])
    assert all(torch.equal(one_ff[k], one_bp[k]) for k in one_ff)  # nothing to detach
    two_ff, two_bp = state("ff", [5, 3]), state("bp", [5, 3])
    first = [k for k in two_ff if k.startswith("layers.0")]
    last = [k for k in two_ff if k.startswith("layers.1")]
    # the last layer's update sees the same inputs in both after one step; the first layer
    # gets the second layer's loss only by backprop
    assert any(not torch.allclose(two_ff[k], two_bp[k]) for k in first)
    assert last


def test_last_layer_twin_trains_only_the_last_objective():
    det = ff.OneClassDetector("hb-svdd", "mlp", "bpl", widths=[5, 3], max_steps=1).fit(X)
    assert det.n_steps == 1
    assert det._targets[0].centre is not None  # fitted after training, not trained
