"""The one-class tricks of issue 22 (ff.tricks): bounded activations, autoencoder pretraining
(FF layer-wise, the twins end to end), seed ensembles; every one off by default."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import ff
from bench.detectors import DETECTORS
from datasets.synthetic import subspace_problem
from ff.autoencoder import init_weights
from ff.networks import build_mlp, length_normalise
from ff.training import LoopConfig
from ff.tricks import combine, decoders, member_seeds, pretrain, relative_error

NORMAL, TEST_X, _ = subspace_problem(0)  # 300 training normals in R^8, 200 test rows
FIT = {"widths": [16, 8], "epochs": 2}  # 300 rows, batch 32: 10 steps per epoch


@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("mode", ff.MODES)
def test_every_trick_is_off_by_default(objective, mode):
    hp = ff.defaults(objective, "mlp", mode)
    assert (hp["activation"], hp["ensemble"]) == ("leaky_relu", 1)
    assert hp.get("pretrain", "none") == "none"
    assert ("pretrain" in hp) == (mode != "untrained")  # a training key


def test_a_default_detector_uses_no_trick():
    det = ff.OneClassDetector("hb-svdd", "mlp", "ff", **FIT).fit(NORMAL)
    assert det.n_steps == 20 and det.members == []
    assert "pretrain_loss" not in det.history
    kinds = {type(m) for m in det._net.modules()}
    assert nn.LeakyReLU in kinds and nn.Tanh not in kinds


@pytest.mark.parametrize(
    ("args", "kwargs", "bad"),
    [
        (("hb-svdd", "cnn"), {"pretrain": "autoencoder"}, "mlp only"),
        (("hb-svdd", "mlp"), {"pretrain": "contrastive"}, "contrastive"),
        (("hb-svdd", "mlp", "untrained"), {"pretrain": "autoencoder"}, "pretrain"),
        (("hb-svdd", "mlp"), {"activation": "relu"}, "relu"),
        (("hb-svdd", "mlp"), {"ensemble": 0}, "ensemble"),
        (("hb-svdd", "mlp"), {"ensemble": 2.0}, "ensemble"),
        (("hb-svdd", "mlp"), {"ensemble": True}, "ensemble"),
    ],
)
def test_bad_values_name_themselves(args, kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        ff.OneClassDetector(*args, **kwargs)


def test_the_registry_refuses_pretraining_a_cnn_before_building_it():
    spec = DETECTORS.get("ff-hb-svdd-cnn")
    with pytest.raises(ValueError, match="mlp only"):
        spec.validate(spec.resolve({"pretrain": "autoencoder"}))
    spec = DETECTORS.get("ff-hb-svdd-mlp")
    spec.validate(spec.resolve({"pretrain": "autoencoder", "ensemble": 2}))


@pytest.mark.parametrize("mode", ["ff", "bp", "untrained"])
def test_tanh_changes_the_activation_not_the_initial_weights(mode):
    hp = {"widths": [16, 8, 4], **({} if mode == "untrained" else {"epochs": 2})}
    plain = ff.OneClassDetector("goodness", "mlp", mode, **hp)
    bounded = ff.OneClassDetector("goodness", "mlp", mode, activation="tanh", **hp)
    net, tanh_net = plain.build((8,))._built[1], bounded.build((8,))._built[1]
    for p, q in zip(net.parameters(), tanh_net.parameters(), strict=True):
        assert torch.equal(p, q)
    kinds = {type(m) for m in tanh_net.modules()}
    assert nn.Tanh in kinds and nn.LeakyReLU not in kinds
    hidden = list(
        tanh_net.outputs(torch.as_tensor(NORMAL * 100, dtype=torch.float32), detach=True)
    )[:-1]
    assert all(h.abs().max() <= 1 for h in hidden)
    a = plain.fit(NORMAL).score_rules(TEST_X)
    b = bounded.fit(NORMAL).score_rules(TEST_X)
    assert not np.allclose(a["sum"], b["sum"])


# ---- autoencoder pretraining ------------------------------------------------------------------
X = torch.as_tensor(NORMAL[:64], dtype=torch.float32)
ONE_FULL_BATCH_STEP = LoopConfig(
    epochs=1, max_steps=1, batch_size=64, radius_update_every=1, radius_warmup_epochs=1
)


def _one_sgd_step(layerwise: bool, normalise: bool = True):
    """The network before and after one full-batch pretraining step of plain SGD at lr 1 (the
    change of every parameter is minus its gradient), and the decoders it started from."""
    net = build_mlp(8, [16, 8, 4], False, 0.01, torch.Generator().manual_seed(0), normalise)
    before = copy.deepcopy(net)
    decs = decoders(before, 8, layerwise, 0.01)
    init_weights(decs, torch.Generator().manual_seed(7), xavier_convs=False)
    history: dict = {}
    steps = pretrain(
        net,
        X,
        layerwise,
        ONE_FULL_BATCH_STEP,
        ("sgd", 1.0, 0.0),
        torch.Generator().manual_seed(7),
        history,
        0.01,
    )
    assert steps == 1 and len(history["pretrain_loss"]) == 1
    return before, net, decs


def _moved(before: nn.Module, after: nn.Module) -> list[list[torch.Tensor]]:
    return [
        [q.detach() - p.detach() for p, q in zip(b.parameters(), a.parameters(), strict=True)]
        for b, a in zip(before.layers, after.layers, strict=True)
    ]


@pytest.mark.parametrize("normalise", [True, False])
def test_ff_pretrains_layer_by_layer_with_no_gradient_across_layers(normalise):
    """Each layer moves by the gradient of its own decoder's error on its own detached input,
    and by nothing else: no later layer's reconstruction reaches it."""
    before, after, decs = _one_sgd_step(layerwise=True, normalise=normalise)
    h = X
    for k, (layer, dec) in enumerate(zip(before.layers, decs, strict=True)):
        inp = h.detach()
        if k and normalise:
            inp = length_normalise(inp)
        h = layer(inp)
        grads = torch.autograd.grad(relative_error(dec(h), inp), list(layer.parameters()))
        for moved, g in zip(_moved(before, after)[k], grads, strict=True):
            assert torch.allclose(moved, -g, atol=1e-6), f"layer {k + 1}"
            assert g.abs().sum() > 0


def test_the_twins_pretrain_end_to_end():
    """Every layer moves by the gradient of the whole stack's reconstruction of the input
    through a mirrored decoder, the first layer included; FF's first layer moves otherwise."""
    before, after, decs = _one_sgd_step(layerwise=False)
    params = list(before.parameters())
    grads = torch.autograd.grad(relative_error(decs[0](before(X)), X), params)
    moved = [m for layer in _moved(before, after) for m in layer]
    for m, g in zip(moved, grads, strict=True):
        assert torch.allclose(m, -g, atol=1e-6) and g.abs().sum() > 0
    _, layerwise, _ = _one_sgd_step(layerwise=True)
    assert not torch.allclose(_moved(before, layerwise)[0][0], moved[0], atol=1e-6)


@pytest.mark.parametrize("mode", ["ff", "bp", "bpl", "bp-accum"])
def test_pretraining_steps_are_counted_and_precede_training(mode):
    plain = ff.OneClassDetector("hb-svdd", "mlp", mode, **FIT).fit(NORMAL)
    det = ff.OneClassDetector("hb-svdd", "mlp", mode, pretrain="autoencoder", **FIT).fit(NORMAL)
    assert plain.n_steps == 20 and det.n_steps == 40  # as many pretraining steps as training
    losses = det.history["pretrain_loss"]
    assert len(losses) == 2 and losses[-1] < losses[0]
    assert not np.allclose(plain.score_samples(TEST_X), det.score_samples(TEST_X))
    capped = ff.OneClassDetector(
        "hb-svdd", "mlp", mode, pretrain="autoencoder", max_steps=5, **FIT
    ).fit(NORMAL)
    assert capped.n_steps == 10


def test_pretraining_leaves_the_initial_weights_and_the_shuffle_alone():
    """The pretraining draws from its own generator: the same initial network, and with lr 0
    (no pretraining move) the same trained network as without pretraining."""
    plain = ff.OneClassDetector("goodness", "mlp", "ff", optimizer="sgd", lr=0.0, **FIT)
    pre = ff.OneClassDetector(
        "goodness", "mlp", "ff", optimizer="sgd", lr=0.0, pretrain="autoencoder", **FIT
    )
    assert np.array_equal(
        plain.fit(NORMAL).score_samples(TEST_X), pre.fit(NORMAL).score_samples(TEST_X)
    )


# ---- seed ensembles ---------------------------------------------------------------------------
def test_member_seeds_start_with_the_detectors_own_and_differ():
    seeds = member_seeds(3, 5)
    assert seeds[0] == 3 and len(set(seeds)) == 5 and member_seeds(3, 5) == seeds
    assert member_seeds(3, 2) == seeds[:2] and member_seeds(3, 1) == [3]


@pytest.mark.parametrize("mode", ["ff", "bp", "untrained"])
def test_an_ensemble_averages_its_networks_standardised_scores(mode):
    fit = {"widths": [16, 8]} if mode == "untrained" else FIT
    det = ff.OneClassDetector("hb-svdd", "mlp", mode, seed=3, ensemble=3, **fit).fit(NORMAL)
    seeds = [3, *(m.seed for m in det.members)]
    assert seeds == member_seeds(3, 3) and len(set(seeds)) == 3
    singles = [
        ff.OneClassDetector("hb-svdd", "mlp", mode, seed=s, **fit).fit(NORMAL) for s in seeds
    ]
    assert det.n_steps == sum(s.n_steps for s in singles)
    assert det.n_params == 3 * singles[0].n_params
    assert set(det.phase_seconds) == {"train", "calibrate"}
    got = det.score_rules(TEST_X)
    own = ff.OneClassDetector("hb-svdd", "mlp", mode, seed=3, **fit).fit(NORMAL)
    assert np.array_equal(own.score_rules(TEST_X)["sum"], singles[0].score_rules(TEST_X)["sum"])
    for rule in ("last", "sum", "zsum", "layer1"):
        z = []
        for single in singles:
            train = single.score_rules(NORMAL)[rule]
            z.append((single.score_rules(TEST_X)[rule] - train.mean()) / train.std())
        assert np.allclose(got[rule], np.mean(z, axis=0), rtol=1e-5, atol=1e-6), rule
    pairs = [(s.score_rules(TEST_X), s.train_rules()) for s in singles]
    combined = combine(pairs)
    assert all(np.array_equal(got[r], combined[r]) for r in got)
    assert np.array_equal(det.score_samples(TEST_X), got[det.hparams["score_layers"]])


def test_combine_by_hand():
    members = [
        ({"r": np.array([1.0, 3.0])}, {"r": np.array([0.0, 2.0])}),  # mean 1, std 1
        ({"r": np.array([10.0, 0.0])}, {"r": np.array([0.0, 0.0, 6.0, 6.0])}),  # mean 3, std 3
    ]
    assert np.allclose(combine(members)["r"], [(0.0 + 7 / 3) / 2, (2.0 - 1.0) / 2])


def test_the_pretraining_generator_leaves_the_first_two_streams_as_they_were():
    """A third generator drawn from the seed does not move the init and shuffle streams, so a
    detector without the tricks computes what it did before them (bit for bit)."""
    det = ff.OneClassDetector("hb-svdd", "mlp", seed=11)
    states = np.random.SeedSequence(11).generate_state(2)
    for gen, state in zip(det._generators()[:2], states, strict=True):
        assert gen.initial_seed() == int(state)
    assert len(det._generators()) == 3
