"""Deep SVDD with Ruff et al. (2018)'s published settings (ff.deepsvdd), on tiny data."""

import math

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from test_datasets_images import _write_mnist_like

from bench.cli import main
from bench.detectors import DETECTORS
from core import schema
from ff.autoencoder import LeNetDecoder, pretrain_autoencoder, reconstruction_error
from ff.deepsvdd import DeepSVDD, deep_svdd_defaults, initial_centre, ruff_centre, ruff_radius
from ff.networks import build_cnn, build_mlp
from ff.objectives import HardBoundarySVDD

RNG = np.random.default_rng(0)
ROWS = RNG.normal(size=(48, 8)).astype(np.float32)
GREY = RNG.uniform(size=(6, 1, 28, 28)).astype(np.float32)  # MNIST-shaped, in [0, 1]
COLOUR = RNG.uniform(size=(6, 3, 32, 32)).astype(np.float32)  # CIFAR-10-shaped
TINY = {"epochs": 1, "ae_epochs": 1}


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("objective", ["hb-svdd", "sb-svdd"])
def test_preset_has_ruffs_settings_and_is_registered(objective, arch):
    hp = deep_svdd_defaults(objective, arch)
    assert hp["lr"] == 1e-4 and hp["epochs"] == 150 and hp["lr_milestones"] == [50]
    assert hp["batch_size"] == 200 and hp["weight_decay"] == 5e-7
    assert hp["pretrain"] is True and hp["centre_eps"] == 0.1
    assert hp["ae_lr"] == 1e-4 and hp["ae_batch_size"] == 200
    assert hp["score_layers"] == "last"
    if objective == "sb-svdd":
        assert hp["nu"] == 0.1 and hp["radius_warmup_epochs"] == 10
    else:
        assert "nu" not in hp and "radius_warmup_epochs" not in hp
    if arch == "mlp":  # MNIST's autoencoder command
        assert (hp["ae_epochs"], hp["ae_lr_milestones"], hp["ae_weight_decay"]) == (
            150,
            [50],
            5e-4,
        )
    else:  # resolved by the input at fit time
        assert hp["ae_epochs"] is hp["ae_lr_milestones"] is hp["ae_weight_decay"] is None
    spec = DETECTORS.get(f"dsvdd-{objective}-{arch}")
    assert spec.family == "dsvdd" and spec.version == 2 and spec.description
    assert dict(spec.defaults) == hp
    assert spec.inputs == ("images" if arch == "cnn" else "any")
    assert DETECTORS.get(spec.twin).defaults["normalise"] is False


@pytest.mark.parametrize(
    ("shape", "ae"),
    [((1, 28, 28), (150, [50], 5e-4)), ((3, 32, 32), (350, [250], 5e-7))],
    ids=["mnist", "cifar10"],
)
def test_lenet_autoencoder_settings_follow_the_readme_command_of_each_dataset(shape, ae):
    det = DeepSVDD("hb-svdd", "cnn").build(shape)
    hp = det.hparams
    assert (hp["ae_epochs"], hp["ae_lr_milestones"], hp["ae_weight_decay"]) == ae
    _, (net, decoder) = det._built
    assert net.normalise is False
    weighted = [m for m in (*net.modules(), *decoder.modules()) if hasattr(m, "weight")]
    assert weighted and all(m.bias is None for m in weighted)  # bias-free, BatchNorm included
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        assert bn.eps == 1e-4 and not bn.affine
    kept = DeepSVDD("hb-svdd", "cnn", ae_epochs=3).build(shape)
    assert kept.hparams["ae_epochs"] == 3


def test_ruff_centre_pushes_small_coordinates_but_keeps_exact_zeros():
    mean = torch.tensor([0.0, 0.05, -0.05, 0.2, -0.3, 0.1])
    c, share = ruff_centre(mean, 0.1)
    assert torch.equal(c, torch.tensor([0.0, 0.1, -0.1, 0.2, -0.3, 0.1]))
    assert share == pytest.approx(2 / 6)
    # a unit that is exactly zero for every sample stays zero (our FF objectives set +eps)
    g = torch.Generator().manual_seed(0)
    net = build_mlp(8, [6, 4], bias=False, slope=0.01, generator=g, normalise=False)
    with torch.no_grad():
        net.layers[-1].weight[0] = 0.0
    centre, _ = initial_centre(net, torch.from_numpy(ROWS), 16, 0.1)
    assert centre[0] == 0.0 and (centre[1:].abs() >= 0.1).all()
    ours = HardBoundarySVDD(0.1)
    ours.set_centre(torch.zeros(1))
    assert ours.centre.item() == pytest.approx(0.1)


def test_centre_comes_from_an_eval_mode_pass_that_leaves_batchnorm_alone():
    g = torch.Generator().manual_seed(1)
    net = build_cnn((1, 28, 28), [8, 4], 32, bias=False, slope=0.01, generator=g, normalise=False)
    x = torch.from_numpy(GREY)
    net.train()
    with torch.no_grad():
        net(x)  # running statistics away from their initial values
    before = _state(net)
    centre, _ = initial_centre(net, x, 5, 0.1)
    after = _state(net)
    assert all(torch.equal(before[k], after[k]) for k in before)  # no running-stat update
    with torch.no_grad():
        eval_mean = net.eval()(x).mean(0)
        train_mean = net.train()(x).mean(0)
    assert torch.allclose(centre, ruff_centre(eval_mean, 0.1)[0], atol=1e-5)
    assert not torch.allclose(centre, ruff_centre(train_mean, 0.1)[0], atol=1e-3)


def test_autoencoder_pretraining_lowers_reconstruction_and_initialises_the_network():
    x = torch.from_numpy(ROWS)
    det = DeepSVDD("hb-svdd", "mlp", ae_lr=1e-3, ae_epochs=15, ae_batch_size=16)
    init, _, ae_gen = det._generators()
    encoder, decoder = det._build((8,), init)
    start = _state(encoder)
    err0 = reconstruction_error(encoder, decoder, x, 16)
    history: dict[str, list[float]] = {}
    steps = pretrain_autoencoder(encoder, decoder, x, det.hparams, ae_gen, history)
    assert steps == 15 * 3 and len(history["pretrain_loss"]) == 15
    assert reconstruction_error(encoder, decoder, x, 16) < 0.8 * err0
    assert not any(torch.equal(start[k], v) for k, v in encoder.state_dict().items())
    # fit with a zero Deep SVDD learning rate: its network is exactly the pretrained encoder
    fitted = DeepSVDD(
        "hb-svdd", "mlp", ae_lr=1e-3, ae_epochs=15, ae_batch_size=16, lr=0.0, epochs=1
    ).fit(ROWS)
    assert fitted.n_pretrain_steps == 15 * 3 and fitted.n_steps == 1
    for k, v in fitted._net.state_dict().items():
        assert torch.equal(v, encoder.state_dict()[k]), k
    raw = DeepSVDD("hb-svdd", "mlp", lr=0.0, epochs=1, pretrain=False).fit(ROWS)
    assert "pretrain_loss" not in raw.history and raw.n_pretrain_steps == 0
    for k, v in raw._net.state_dict().items():
        assert torch.equal(v, start[k]), k  # without pretraining: the initial weights


def test_learning_rates_drop_tenfold_at_their_milestones():
    det = DeepSVDD(
        "hb-svdd",
        "mlp",
        epochs=3,
        lr_milestones=[2],
        ae_epochs=3,
        ae_lr_milestones=[1],
        batch_size=20,
    ).fit(ROWS)
    assert det.history["train_lr"] == pytest.approx([1e-4, 1e-4, 1e-5])
    assert det.history["pretrain_lr"] == pytest.approx([1e-4, 1e-5, 1e-5])
    assert det.n_steps == 3 * math.ceil(len(ROWS) / 20)
    assert len(det.history["train_loss.layer3"]) == 3


def test_soft_boundary_radius_is_ruffs_per_batch_quantile_after_warm_up():
    # Ruff's radius: the quantile of sqrt(d), not the square root of d's quantile
    assert ruff_radius(torch.tensor([1.0, 4.0, 9.0, 16.0]), 0.5) == pytest.approx(2.5)
    det = DeepSVDD(
        "sb-svdd", "mlp", epochs=4, radius_warmup_epochs=2, ae_epochs=1, batch_size=16
    ).fit(ROWS)
    radius = det.history["radius"]
    assert radius[:2] == [0.0, 0.0] and min(radius[2:]) > 0
    last = det._targets[max(det._targets)]
    assert last.r2 == pytest.approx(det.radius**2) and det.radius == radius[-1]
    with torch.no_grad():
        d = (det._net.eval()(torch.from_numpy(ROWS)) - det.centre).pow(2).sum(1)
    np.testing.assert_allclose(det.score_samples(ROWS), d.numpy() - det.radius**2, rtol=1e-4)


@pytest.mark.parametrize(
    ("objective", "data", "name", "n_params"),
    [
        ("hb-svdd", GREY, "mnist_LeNet", 200 + 800 + 196 * 32),
        ("sb-svdd", GREY, "mnist_LeNet", 200 + 800 + 196 * 32),
        ("sb-svdd", COLOUR, "cifar10_LeNet", 2400 + 51200 + 204800 + 2048 * 128),
    ],
    ids=["mnist-hb", "mnist-sb", "cifar10-sb"],
)
def test_cnn_presets_fit_and_score_mnist_and_cifar_shaped_images(objective, data, name, n_params):
    det = DeepSVDD(objective, "cnn", batch_size=3, ae_batch_size=3, **TINY).fit(data)
    assert det.network == name and det.n_params == n_params  # Ruff's LeNet, bias-free
    rules = det.score_rules(data[:5])
    layers = (f"layer{k}" for k in range(1, len(det._targets) + 1))
    assert set(rules) == {"last", "sum", "zsum", "rank", "rankmax", *layers}
    assert all(v.shape == (5,) and np.isfinite(v).all() for v in rules.values())
    assert set(det.phase_seconds) == {"pretrain", "train", "calibrate"}
    assert det.n_pretrain_steps == 2 and det.n_steps == 2
    rep_dim = 32 if name == "mnist_LeNet" else 128
    out = LeNetDecoder(name, rep_dim, 0.01)(torch.zeros(2, rep_dim))
    assert out.shape == (2, *data.shape[1:])  # the decoder reconstructs the input's shape


def test_cnn_preset_refuses_shapes_without_a_ruff_lenet():
    with pytest.raises(ValueError, match="1x28x28"):
        DeepSVDD("hb-svdd", "cnn", **TINY).fit(RNG.uniform(size=(4, 1, 32, 32)))
    with pytest.raises(ValueError, match="lr_milestones"):
        DeepSVDD("hb-svdd", "mlp", lr_milestones=[50, 10])
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        DeepSVDD("hb-svdd", "mlp", nu=0.1)  # one-class Deep SVDD has no nu


def test_cnn_preset_runs_through_the_harness_on_mnist_files(tmp_path):
    data_dir = tmp_path / "data"
    _write_mnist_like(data_dir, "MNIST")  # tiny IDX files read by torchvision's real MNIST
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = main(["run", "-d", "dsvdd-sb-svdd-cnn", "--dataset", "mnist", "--seeds", "1",
                 "--param", "epochs=1", "--param", "ae_epochs=1", "--workers", "1",
                 "--data-dir", str(data_dir), "--no-progress", "--tracking-uri", uri,
                 "--experiment", "dsvdd"])  # fmt: skip
    assert code == 0
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("dsvdd")
    runs = [r for r in client.search_runs([exp.experiment_id], max_results=100)
            if schema.TAG_TRIAL_HASH in r.data.tags]  # fmt: skip
    assert len(runs) == 10 and all(r.info.status == "FINISHED" for r in runs)
    assert {r.data.tags[schema.TAG_FAMILY] for r in runs} == {"dsvdd"}
    run = runs[0]
    assert run.data.params["hp.ae_weight_decay"] == "0.0005"  # MNIST's command, resolved
    assert run.data.params["hp.lr"] == "0.0001" and run.data.params["hp.pretrain"] == "true"
    assert {"pretrain_seconds", "auroc.last", "auroc.sum"} <= set(run.data.metrics)
    for name in ("pretrain_loss", "train_lr", "radius"):  # training curves as step metrics
        curve = client.get_metric_history(run.info.run_id, name)
        assert len(curve) == 1 and np.isfinite(curve[0].value), name
