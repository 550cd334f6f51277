"""The detector's contract: API, determinism, quality on an easy problem, CNNs, bad input."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import ff
from datasets.synthetic import subspace_problem

# normals near a 2-d subspace of R^8; anomalies isotropic with the same per-feature scale (a pure
# mean shift is not used: bias-free layers with length normalisation between them make every
# layer after the first blind to input scale, f(a x) = f(x), a > 0)
NORMAL, TEST_X, TEST_Y = subspace_problem(0)
SVDD = [o for o in ff.OBJECTIVES if o.endswith("svdd")]
TRAINED = [m for m in ff.MODES if m != "untrained"]
CNN_MODES = [m for m in ff.MODES if m not in ff.MEMORY_MODES]  # the memory twins: MLP only
CALIBRATED = ["zsum", "rank", "rankmax"]


def test_public_names():
    assert ff.OBJECTIVES == ("goodness", "sigmoid-goodness", "hb-svdd", "sb-svdd", "ls-svdd")
    assert ff.ARCHS == ("mlp", "cnn")
    assert ff.MODES == ("ff", "bp", "bp-ckpt", "bp-accum", "bpl", "untrained")
    assert set(ff.MODE_TEXT) == set(ff.DECLARED_RULE) == set(ff.MODES)


@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("arch", ff.ARCHS)
def test_defaults_are_json_and_complete(objective, arch):
    modes = ff.MODES if arch == "mlp" else CNN_MODES
    shared = {m: ff.defaults(objective, arch, m) for m in modes}
    for mode, hp in shared.items():  # every mode shares the network and training settings
        assert hp["score_layers"] == ff.DECLARED_RULE[mode]
        for key, value in hp.items():
            if key not in ("score_layers", "update", "checkpoint_layers", "micro_batches"):
                assert shared["ff"][key] == value, (mode, key)
    assert "epochs" not in shared["untrained"] and "lr" not in shared["untrained"]
    hp = ff.defaults(objective, arch)
    assert json.loads(json.dumps(hp)) == hp
    required = {
        "epochs",
        "max_steps",
        "batch_size",
        "lr",
        "optimizer",
        "weight_decay",
        "bias",
        "theta",
        "nu",
        "radius_update_every",
        "score_layers",
        "update",
    }
    arch_keys = {"widths"} if arch == "mlp" else {"channels", "rep_dim"}
    assert required | arch_keys <= set(hp)
    assert hp["bias"] == (objective.endswith("goodness") and arch == "mlp")


@pytest.mark.parametrize(
    ("args", "kwargs", "bad"),
    [
        (("svdd", "mlp"), {}, "svdd"),
        (("hb-svdd", "rnn"), {}, "rnn"),
        (("hb-svdd", "mlp", "hebbian"), {}, "hebbian"),
        (("hb-svdd", "mlp"), {"widht": [3]}, "widht"),
        (("hb-svdd", "mlp"), {"channels": [3]}, "channels"),
        (("hb-svdd", "mlp"), {"optimizer": "rmsprop"}, "rmsprop"),
        (("hb-svdd", "mlp"), {"update": "parallel"}, "parallel"),
        (("hb-svdd", "mlp"), {"nu": 1.5}, "nu"),
    ],
)
def test_bad_arguments_name_the_value(args, kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        ff.OneClassDetector(*args, **kwargs)


@pytest.mark.parametrize("mode", ff.MODES)
def test_contract_and_hparams(mode):
    hp = {} if mode == "untrained" else {"epochs": 2}
    det = ff.OneClassDetector("sb-svdd", "mlp", mode, widths=(16, 8), **hp)
    assert det.fit(NORMAL) is det
    s = det.score_samples(TEST_X)
    assert s.dtype == np.float64 and s.shape == (200,)
    assert json.loads(json.dumps(det.hparams)) == det.hparams
    assert det.hparams["widths"] == [16, 8]
    assert det.n_params == 8 * 16 + 16 * 8
    # 300 rows, batch 32 -> 10 steps per epoch; the control takes none
    assert det.n_steps == (0 if mode == "untrained" else 2 * 10)
    assert ("update" in det.hparams) == (mode == "ff")
    assert set(det.phase_seconds) == {"train", "calibrate"}


@pytest.mark.parametrize("mode", ff.MODES)
def test_every_rule_from_one_network(mode):
    det = ff.OneClassDetector("hb-svdd", "mlp", mode, widths=[16, 8, 4]).fit(NORMAL)
    rules = det.score_rules(TEST_X)
    assert list(rules) == ["last", "sum", *CALIBRATED, "layer1", "layer2", "layer3"]
    assert np.array_equal(rules["last"], rules["layer3"])
    assert np.array_equal(det.score_samples(TEST_X), rules[ff.DECLARED_RULE[mode]])
    train = det.score_rules(NORMAL)
    scale = [np.abs(train[f"layer{k}"]).mean() for k in (1, 2, 3)]
    expect = sum(rules[f"layer{k}"] / scale[k - 1] for k in (1, 2, 3))
    assert np.allclose(rules["sum"], expect, rtol=1e-6)


@pytest.mark.parametrize("mode", ["ff", "untrained"])
def test_calibrated_rules_against_the_training_normals_scores(mode):
    """zsum: each layer z-scored against its training normals' scores, summed; rank / rankmax:
    the sum / max over layers of the share of training normals scoring at most as high."""
    hp = {"widths": [16, 8, 4], **({} if mode == "untrained" else {"epochs": 2})}
    det = ff.OneClassDetector("hb-svdd", "mlp", mode, **hp).fit(NORMAL)
    rules, train = det.score_rules(TEST_X), det.score_rules(NORMAL)
    layers = np.column_stack([rules[f"layer{k}"] for k in (1, 2, 3)])
    ref = np.column_stack([train[f"layer{k}"] for k in (1, 2, 3)])
    z = (layers - ref.mean(0)) / ref.std(0)
    assert np.allclose(rules["zsum"], z.sum(1), rtol=1e-9, atol=1e-9)
    cdf = (ref[None, :, :] <= layers[:, None, :]).mean(1)  # (test, layer)
    assert np.array_equal(rules["rank"], cdf.sum(1))
    assert np.array_equal(rules["rankmax"], cdf.max(1))
    assert train["rankmax"].max() == 1.0 and (train["rankmax"] > 0).all()
    # a declared calibrated rule is the headline, from the same fit
    same = ff.OneClassDetector("hb-svdd", "mlp", mode, score_layers="rankmax", **hp)
    assert np.array_equal(same.fit(NORMAL).score_samples(TEST_X), rules["rankmax"])


@pytest.mark.parametrize("mode", ["bpl", "untrained"])
def test_layers_trained_without_objective_get_centres_from_training_data(mode):
    import torch

    det = ff.OneClassDetector("sb-svdd", "mlp", mode, widths=[16, 8, 4]).fit(NORMAL)
    x = torch.as_tensor(NORMAL, dtype=torch.float32)
    det._net.eval()
    with torch.no_grad():
        outs = list(det._net.outputs(x, detach=True))
    later = [0, 1] if mode == "bpl" else [0, 1, 2]
    for k in later:
        target = det._targets[k]
        assert torch.allclose(target.centre, outs[k].mean(0), atol=1e-6)
        d = (outs[k] - target.centre).pow(2).sum(1).double()
        assert target.r2 == pytest.approx(float(torch.quantile(d, 0.9)), rel=1e-5)


def test_untrained_control_takes_no_step_and_has_no_epochs():
    with pytest.raises(ValueError, match="epochs"):
        ff.OneClassDetector("goodness", "mlp", "untrained", epochs=5)
    a = ff.OneClassDetector("goodness", "mlp", "untrained", seed=1).fit(NORMAL)
    b = ff.OneClassDetector("goodness", "mlp", "untrained", seed=1).fit(NORMAL[:50])
    assert a.n_steps == b.n_steps == 0
    w = [d._net.layers[0][0].weight.detach().numpy() for d in (a, b)]
    assert np.array_equal(*w)  # the initial weights, whatever the data


def test_normalise_off_lets_later_layers_see_scale():
    def layer2(normalise):
        det = ff.OneClassDetector(
            "hb-svdd", "mlp", "untrained", widths=[16, 8], normalise=normalise
        ).fit(NORMAL)
        return det.score_rules(TEST_X)["layer2"], det.score_rules(3 * TEST_X)["layer2"]

    on, on3 = layer2(True)
    off, off3 = layer2(False)
    assert np.allclose(on, on3)  # bias-free + length normalisation: blind to input scale
    assert not np.allclose(off, off3)


def test_max_steps_caps_training():
    det = ff.OneClassDetector("goodness", "mlp", epochs=50, max_steps=7).fit(NORMAL)
    assert det.n_steps == 7


@pytest.mark.parametrize("mode", TRAINED)
def test_same_seed_same_scores_other_seed_other_weights(mode):
    def fit(seed, **hp):
        return ff.OneClassDetector("hb-svdd", "mlp", mode, seed=seed, epochs=2, **hp).fit(NORMAL)

    assert np.array_equal(fit(3).score_samples(TEST_X), fit(3).score_samples(TEST_X))
    w3 = fit(3, lr=0.0)._net.layers[0][0].weight
    w4 = fit(4, lr=0.0)._net.layers[0][0].weight
    assert not np.allclose(w3.detach().numpy(), w4.detach().numpy())


@pytest.mark.parametrize("objective", SVDD)
@pytest.mark.parametrize("mode", TRAINED)
def test_svdd_separates_off_subspace_anomalies(objective, mode):
    det = ff.OneClassDetector(objective, "mlp", mode, seed=0).fit(NORMAL)
    assert roc_auc_score(TEST_Y, det.score_samples(TEST_X)) >= 0.95


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("mode", CNN_MODES)
def test_cnn_runs(shape, objective, mode):
    X = np.random.default_rng(0).normal(size=(12, *shape)).astype(np.float32)
    hp = {} if mode == "untrained" else {"epochs": 1}
    det = ff.OneClassDetector(objective, "cnn", mode, batch_size=6, **hp).fit(X)
    rules = det.score_rules(X[:5])
    assert len(rules) == 5 + len(det.hparams["channels"]) + 1  # last, sum, 3 calibrated, layers
    assert all(s.shape == (5,) and np.isfinite(s).all() for s in rules.values())
    assert det.hparams["channels"] == ([8, 4] if shape[0] == 1 else [32, 64, 128])
    assert det.n_steps == (0 if mode == "untrained" else 2)


@pytest.mark.parametrize(
    ("arch", "X", "match"),
    [
        ("mlp", np.where(np.eye(4) > 0, np.nan, 0.0), "NaN or infinite"),
        ("mlp", np.where(np.eye(4) > 0, np.inf, 0.0), "NaN or infinite"),
        ("mlp", np.zeros((4, 2, 2)), "ndim=3"),
        ("cnn", np.zeros((4, 16)), "ndim=2"),
        ("mlp", np.zeros((0, 4)), "empty"),
        ("cnn", np.zeros((4, 1, 2, 2)), "too small"),
    ],
)
def test_bad_input(arch, X, match):
    with pytest.raises(ValueError, match=match):
        ff.OneClassDetector("hb-svdd", arch, epochs=1).fit(X)


def test_score_checks_input():
    det = ff.OneClassDetector("hb-svdd", "mlp", epochs=1)
    with pytest.raises(RuntimeError, match="not fitted"):
        det.score_samples(NORMAL)
    det.fit(NORMAL)
    with pytest.raises(ValueError, match="sample shape"):
        det.score_samples(NORMAL[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        det.score_samples(np.full((2, 8), np.nan))


@pytest.mark.parametrize("mode", TRAINED)
def test_build_ahead_of_fit_changes_nothing(mode):
    def scores(prebuild):
        det = ff.OneClassDetector("hb-svdd", "mlp", mode, seed=5, epochs=2)
        if prebuild:
            det.build(NORMAL.shape[1:])
        return det.fit(NORMAL).score_samples(TEST_X)

    assert np.array_equal(scores(True), scores(False))


def test_training_curves_and_collapse_flags():
    det = ff.OneClassDetector("goodness", "mlp", "ff", epochs=30).fit(NORMAL)
    assert set(det.history) == {f"train_{w}.layer{k}" for w in ("stat", "loss") for k in (1, 2, 3)}
    assert all(len(v) == 30 for v in det.history.values())
    # normals only: goodness is minimised by the zero map; a hidden layer gets there
    assert "layer2" in det.collapsed
    assert det.history["train_stat.layer2"][-1] < ff.detector.COLLAPSE_GOODNESS
    assert det.history["train_stat.layer1"][-1] > ff.detector.COLLAPSE_GOODNESS
    assert "layer1" not in det.collapsed
    svdd = ff.OneClassDetector("hb-svdd", "mlp", "bpl", epochs=2).fit(NORMAL)
    assert set(svdd.history) == {"train_stat.layer3", "train_loss.layer3"}  # trained layer only
    assert set(svdd.centre_eps_share) == {"layer3"} and 0 <= svdd.centre_eps_share["layer3"] <= 1
    assert svdd.collapsed == []


def test_variance_floor_keeps_goodness_layers_from_collapsing():
    guarded = ff.OneClassDetector("goodness", "mlp", "ff", epochs=30, variance_floor=0.5)
    guarded.fit(NORMAL)
    assert guarded.collapsed == []  # the plain objective collapses layer 2 (test above)
    assert min(guarded.history["train_stat.layer2"]) > 100 * ff.detector.COLLAPSE_GOODNESS
    # it acts in bp too (every layer's loss), and only when on
    a = ff.OneClassDetector("goodness", "mlp", "bp", epochs=2, variance_floor=0.0).fit(NORMAL)
    b = ff.OneClassDetector("goodness", "mlp", "bp", epochs=2, variance_floor=0.3).fit(NORMAL)
    assert not np.array_equal(a.score_samples(TEST_X), b.score_samples(TEST_X))
    for bad in (-0.1, "x", True):
        with pytest.raises(ValueError, match="variance_floor"):
            ff.OneClassDetector("goodness", "mlp", "ff", variance_floor=bad)
    with pytest.raises(ValueError, match="variance_floor"):  # an SVDD has no such guard
        ff.OneClassDetector("hb-svdd", "mlp", "ff", variance_floor=0.5)


def _parameters(det) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in det._net.parameters()])


@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("segment", [None, 1, 2])
def test_checkpointed_backprop_is_backprop(objective, segment):
    def fit(mode, **hp):
        return ff.OneClassDetector(objective, "mlp", mode, seed=2, epochs=3,
                                   widths=[24, 24, 24, 24, 8], **hp).fit(NORMAL)

    bp, ckpt = fit("bp"), fit("bp-ckpt", checkpoint_layers=segment)
    assert ckpt.n_steps == bp.n_steps == 30
    np.testing.assert_allclose(_parameters(ckpt), _parameters(bp), rtol=0, atol=1e-6)
    a, b = (roc_auc_score(TEST_Y, d.score_samples(TEST_X)) for d in (ckpt, bp))
    assert abs(a - b) <= 1e-6


@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_accumulated_gradient_is_the_full_batch_gradient(objective, parts):
    import torch

    from ff.training import bp_step

    def one_step(micro_batches):  # one plain-SGD step from the same network and batch
        det = ff.OneClassDetector(objective, "mlp", "bp", seed=4, widths=[16, 8, 4])
        det.build(NORMAL.shape[1:])
        net = det._built[1]
        targets = {k: det._objective() for k in range(3)}
        for k, o in targets.items():
            if hasattr(o, "set_centre"):
                o.set_centre(torch.full(([16, 8, 4][k],), 0.3))
            if hasattr(o, "update_radius"):
                o.update_radius(torch.tensor([0.1, 0.5, 0.9]))  # a radius the loss uses
        opt = ff.detector.make_optimizer(list(net.parameters()), "sgd", 0.1, 0.0)
        batch = torch.as_tensor(NORMAL[:50]).float()
        bp_step(net, targets, opt, micro_batches=micro_batches)(batch)
        return np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])

    np.testing.assert_allclose(one_step(parts), one_step(1), rtol=0, atol=1e-6)


def test_memory_twins_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="bp-ckpt is defined for the mlp only"):
        ff.OneClassDetector("hb-svdd", "cnn", "bp-ckpt")
    with pytest.raises(ValueError, match="micro_batches"):
        ff.OneClassDetector("hb-svdd", "mlp", "bp-accum", micro_batches=0)
    with pytest.raises(ValueError, match="checkpoint_layers"):
        ff.OneClassDetector("hb-svdd", "mlp", "bp-ckpt", checkpoint_layers=1.5)
    with pytest.raises(ValueError, match="micro_batches"):
        ff.OneClassDetector("hb-svdd", "mlp", "bp", micro_batches=4)  # bp has no such key


def test_accumulating_detector_trains_bps_network():
    def fit(mode, **hp):
        return ff.OneClassDetector("sb-svdd", "mlp", mode, seed=6, epochs=3, **hp).fit(NORMAL)

    bp, accum = fit("bp"), fit("bp-accum", micro_batches=4)
    assert accum.n_steps == bp.n_steps  # one step per batch, whatever the parts
    np.testing.assert_allclose(_parameters(accum), _parameters(bp), rtol=0, atol=1e-4)
