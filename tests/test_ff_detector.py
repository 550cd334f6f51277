"""The detector's contract: API, determinism, quality on an easy problem, CNNs, bad input."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import ff

RNG = np.random.default_rng(0)
MIX = RNG.normal(size=(2, 8))


SD = (RNG.normal(size=(5000, 2)) @ MIX).std(0)


def _normals(n: int) -> np.ndarray:
    """Roughly standardised Gaussian normals near a 2-d subspace of R^8."""
    return (RNG.normal(size=(n, 2)) @ MIX + 0.1 * RNG.normal(size=(n, 8))) / SD


NORMAL = _normals(300)
# anomalies: isotropic Gaussian, same per-feature scale, off the normals' subspace. (A pure
# mean shift of isotropic normals is not used: bias-free layers with length normalisation
# between them make every layer after the first blind to input scale, f(a x) = f(x), a > 0.)
TEST_X = np.vstack([_normals(100), RNG.normal(size=(100, 8))])
TEST_Y = np.r_[np.zeros(100), np.ones(100)]
SVDD = [o for o in ff.OBJECTIVES if o.endswith("svdd")]


def test_public_names():
    assert ff.OBJECTIVES == ("goodness", "sigmoid-goodness", "hb-svdd", "sb-svdd", "ls-svdd")
    assert ff.ARCHS == ("mlp", "cnn")
    assert ff.MODES == ("ff", "bp")


@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("arch", ff.ARCHS)
def test_defaults_are_json_and_complete(objective, arch):
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
    det = ff.OneClassDetector("sb-svdd", "mlp", mode, epochs=2, widths=(16, 8))
    assert det.fit(NORMAL) is det
    s = det.score_samples(TEST_X)
    assert s.dtype == np.float64 and s.shape == (200,)
    assert json.loads(json.dumps(det.hparams)) == det.hparams
    assert det.hparams["widths"] == [16, 8]
    assert det.n_params == 8 * 16 + 16 * 8
    assert det.n_steps == 2 * 10  # 300 rows, batch 32 -> 10 steps per epoch
    if mode == "bp":
        assert det.hparams["score_layers"] == "last" and det.hparams["update"] is None


def test_max_steps_caps_training():
    det = ff.OneClassDetector("goodness", "mlp", epochs=50, max_steps=7).fit(NORMAL)
    assert det.n_steps == 7


@pytest.mark.parametrize("mode", ff.MODES)
def test_same_seed_same_scores_other_seed_other_weights(mode):
    def fit(seed, **hp):
        return ff.OneClassDetector("hb-svdd", "mlp", mode, seed=seed, epochs=2, **hp).fit(NORMAL)

    assert np.array_equal(fit(3).score_samples(TEST_X), fit(3).score_samples(TEST_X))
    w3 = fit(3, lr=0.0)._net.layers[0][0].weight
    w4 = fit(4, lr=0.0)._net.layers[0][0].weight
    assert not np.allclose(w3.detach().numpy(), w4.detach().numpy())


@pytest.mark.parametrize("objective", SVDD)
@pytest.mark.parametrize("mode", ff.MODES)
def test_svdd_separates_off_subspace_anomalies(objective, mode):
    det = ff.OneClassDetector(objective, "mlp", mode, seed=0).fit(NORMAL)
    assert roc_auc_score(TEST_Y, det.score_samples(TEST_X)) >= 0.95


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("objective", ff.OBJECTIVES)
@pytest.mark.parametrize("mode", ff.MODES)
def test_cnn_runs(shape, objective, mode):
    X = np.random.default_rng(0).normal(size=(12, *shape)).astype(np.float32)
    det = ff.OneClassDetector(objective, "cnn", mode, epochs=1, batch_size=6).fit(X)
    s = det.score_samples(X[:5])
    assert s.shape == (5,) and np.isfinite(s).all()
    assert det.hparams["channels"] == ([8, 4] if shape[0] == 1 else [32, 64, 128])
    assert det.n_steps == 2


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


@pytest.mark.parametrize("mode", ff.MODES)
def test_build_ahead_of_fit_changes_nothing(mode):
    def scores(prebuild):
        det = ff.OneClassDetector("hb-svdd", "mlp", mode, seed=5, epochs=2)
        if prebuild:
            det.build(NORMAL.shape[1:])
        return det.fit(NORMAL).score_samples(TEST_X)

    assert np.array_equal(scores(True), scores(False))
