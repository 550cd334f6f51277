"""Deep SVDD as Ruff et al. (2018) published it (github lukasruff/Deep-SVDD-PyTorch).

``DeepSVDD(objective, arch)`` follows that code's ``main.py``, ``optim/ae_trainer.py``,
``optim/deepSVDD_trainer.py`` and ``networks/{mnist,cifar10}_LeNet.py`` with the settings of
its README commands, where our FF-friendly defaults (``ff.defaults``) differ:

* the network: our MLP or Ruff's LeNets (``ff.networks``) with bias-free layers and no length
  normalisation between layers (BatchNorm eps 1e-4, affine=False in the LeNets);
* autoencoder pretraining on the training normals: the LeNet autoencoders' decoders (Ruff's
  ``*_LeNet_Autoencoder``: transposed convolutions with nearest-neighbour interpolation and a
  sigmoid output; CIFAR-10's with Xavier-initialised convolutions and a BatchNorm1d on the
  code), a mirrored decoder for the MLP; loss: the per-sample sum of squared errors averaged
  over the batch; Adam, lr 1e-4, batch 200, a x0.1 drop at the milestone; MNIST's command
  150 epochs, milestone 50, weight decay 5e-4; CIFAR-10's 350, 250, 5e-7 (for the CNN chosen
  by the input's channels at fit time, like the LeNet itself; the MLP takes MNIST's). The
  trained encoder (its BatchNorm statistics too) initialises the Deep SVDD network;
* the centre ``c``: the mean output of one forward pass over the training normals in
  evaluation mode, coordinates with ``0 < |c| < eps`` (0.1) pushed to ``+-eps``, exact zeros
  left at zero (:func:`ruff_centre`);
* training: the objective on the last layer, end to end; Adam, lr 1e-4, weight decay 5e-7,
  batch 200, 150 epochs, lr x0.1 from epoch 50 (``MultiStepLR``);
* soft boundary (``sb-svdd``, nu 0.1): R = 0 for 10 warm-up epochs, then after every
  mini-batch step R is the ``(1 - nu)``-quantile of that batch's distances ``sqrt(d)``
  (:func:`ruff_radius`); score ``d - R**2``. One-class (``hb-svdd``): score ``d``.

The headline rule is ``last`` (Ruff's score). As for every network of the benchmark, hidden
layers get an objective fitted after training on the training normals, so ``sum`` and
``layer<k>`` are logged too (:meth:`DeepSVDD.score_rules`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ff.common import checked_tensor, clock, rules
from ff.hparams import AE_CIFAR10, AE_MNIST, deep_svdd_defaults, validate_deep_svdd
from ff.networks import LayerStack, build_cnn, build_mlp
from ff.objectives import HardBoundarySVDD, SoftBoundarySVDD, make_objective
from ff.training import History, Targets, batches, fit_after_training, layer_scores

# Ruff's LeNets by input shape: (network name, conv channels, rep_dim)
LENETS = {
    (1, 28, 28): ("mnist_LeNet", [8, 4], 32),
    (3, 32, 32): ("cifar10_LeNet", [32, 64, 128], 128),
}
_AE_BY_NET = {"mnist_LeNet": AE_MNIST, "cifar10_LeNet": AE_CIFAR10}


# ---- Ruff's rules -----------------------------------------------------------------------------
def ruff_centre(mean: Tensor, eps: float) -> tuple[Tensor, float]:
    """Ruff's ``init_center_c`` rule: coordinates with ``|c| < eps`` pushed to ``+-eps`` by
    their sign; exact zeros stay zero. Returns the centre and the share of coordinates moved."""
    c = mean.detach().clone()
    small = c.abs() < eps
    c[small & (c < 0)] = -eps
    c[small & (c > 0)] = eps
    moved = small & (mean != 0)
    return c, float(moved.float().mean())


@torch.no_grad()
def initial_centre(net: nn.Module, X: Tensor, batch_size: int, eps: float) -> tuple[Tensor, float]:
    """The centre from one forward pass over ``X`` in evaluation mode (BatchNorm uses its
    running statistics and does not update them), then :func:`ruff_centre`."""
    net.eval()
    total: Tensor | None = None
    for idx in batches(len(X), batch_size):
        s = net(X[idx]).reshape(len(X[idx]), -1).sum(0)
        total = s if total is None else total + s
    assert total is not None
    return ruff_centre(total / len(X), eps)


def ruff_radius(dists: Tensor, nu: float) -> float:
    """Ruff's ``get_radius``: the ``(1 - nu)``-quantile of ``sqrt(dists)`` (one mini-batch)."""
    return float(np.quantile(np.sqrt(dists.detach().cpu().numpy()), 1 - nu))


# ---- decoders ---------------------------------------------------------------------------------
class MLPDecoder(nn.Sequential):
    """The MLP encoder mirrored: bias-free linear layers back to the input, LeakyReLU between
    them, a linear output (tabular features are z-scored, not in [0, 1])."""

    def __init__(self, in_dim: int, widths: list[int], slope: float):
        dims = [*reversed(widths), in_dim]
        layers: list[nn.Module] = []
        for k, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            layers.append(nn.Linear(d_in, d_out, bias=False))
            if k < len(dims) - 2:
                layers.append(nn.LeakyReLU(slope))
        super().__init__(*layers)


class LeNetDecoder(nn.Module):
    """The decoder half of Ruff's ``MNIST_LeNet_Autoencoder`` / ``CIFAR10_LeNet_Autoencoder``.

    The code (``rep_dim``) is reshaped to ``rep_dim / 16`` maps of 4x4; each stage is
    LeakyReLU, (BatchNorm,) nearest-neighbour upsampling x2 and a bias-free 5x5 transposed
    convolution; a sigmoid output. MNIST: 4 -> 8 -> 16 -> 14 (padding 3) -> 28; CIFAR-10: a
    BatchNorm1d on the code, then 4 -> 8 -> 16 -> 32.
    """

    def __init__(self, net_name: str, rep_dim: int, slope: float):
        super().__init__()
        self.net_name, self.rep_dim, self.slope = net_name, rep_dim, slope

        def bn(c: int) -> nn.BatchNorm2d:
            return nn.BatchNorm2d(c, eps=1e-4, affine=False)

        c0 = rep_dim // 16
        if net_name == "mnist_LeNet":
            self.code_bn = None
            self.deconvs = nn.ModuleList(
                [
                    nn.ConvTranspose2d(c0, 4, 5, bias=False, padding=2),
                    nn.ConvTranspose2d(4, 8, 5, bias=False, padding=3),
                    nn.ConvTranspose2d(8, 1, 5, bias=False, padding=2),
                ]
            )
            self.bns = nn.ModuleList([bn(4), bn(8)])
        else:
            self.code_bn = nn.BatchNorm1d(rep_dim, eps=1e-4, affine=False)
            self.deconvs = nn.ModuleList(
                [
                    nn.ConvTranspose2d(c0, 128, 5, bias=False, padding=2),
                    nn.ConvTranspose2d(128, 64, 5, bias=False, padding=2),
                    nn.ConvTranspose2d(64, 32, 5, bias=False, padding=2),
                    nn.ConvTranspose2d(32, 3, 5, bias=False, padding=2),
                ]
            )
            self.bns = nn.ModuleList([bn(128), bn(64), bn(32)])

    def forward(self, z: Tensor) -> Tensor:
        if self.code_bn is not None:
            z = self.code_bn(z)
        x = F.leaky_relu(z.reshape(len(z), self.rep_dim // 16, 4, 4), self.slope)
        if self.code_bn is None:  # MNIST upsamples the code before its first deconvolution
            x = F.interpolate(x, scale_factor=2)
        for k, deconv in enumerate(self.deconvs):
            x = deconv(x)
            if k < len(self.bns):
                x = F.interpolate(F.leaky_relu(self.bns[k](x), self.slope), scale_factor=2)
        return torch.sigmoid(x)


def _init_weights(module: nn.Module, gen: torch.Generator, xavier_convs: bool) -> None:
    """PyTorch's default init (kaiming uniform, a=sqrt(5)) from ``gen``; with ``xavier_convs``
    (Ruff's CIFAR-10 autoencoder) every (transposed) convolution gets Xavier uniform with the
    LeakyReLU gain instead."""
    gain = nn.init.calculate_gain("leaky_relu")
    for m in module.modules():
        if xavier_convs and isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_uniform_(m.weight, gain=gain, generator=gen)
        elif isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)


def reconstruction_loss(rec: Tensor, x: Tensor) -> Tensor:
    """Ruff's autoencoder loss: the per-sample sum of squared errors, averaged over samples."""
    return (rec - x).pow(2).reshape(len(x), -1).sum(1).mean()


@torch.no_grad()
def reconstruction_error(
    encoder: nn.Module, decoder: nn.Module, X: Tensor, batch_size: int
) -> float:
    """Mean reconstruction loss over ``X`` in evaluation mode."""
    encoder.eval()
    decoder.eval()
    total = 0.0
    for idx in batches(len(X), batch_size):
        x = X[idx]
        total += float(reconstruction_loss(decoder(encoder(x)), x)) * len(x)
    return total / len(X)


def _epochs(
    params: list[nn.Parameter],
    lr: float,
    weight_decay: float,
    milestones: list[int],
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.MultiStepLR]:
    """Adam and Ruff's MultiStepLR (x0.1 at each milestone epoch)."""
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)


def pretrain_autoencoder(
    encoder: nn.Module,
    decoder: nn.Module,
    X: Tensor,
    hp: dict[str, Any],
    gen: torch.Generator,
    history: History,
) -> int:
    """Ruff's ``AETrainer.train``: Adam + MultiStepLR on the reconstruction loss, every
    parameter of encoder and decoder; returns the number of steps. ``history`` gets
    ``pretrain_loss`` (mean batch loss) and ``pretrain_lr`` per epoch."""
    params = [*encoder.parameters(), *decoder.parameters()]
    opt, sched = _epochs(params, hp["ae_lr"], hp["ae_weight_decay"], hp["ae_lr_milestones"])
    encoder.train()
    decoder.train()
    steps = 0
    for _ in range(hp["ae_epochs"]):
        history.setdefault("pretrain_lr", []).append(opt.param_groups[0]["lr"])
        order = torch.randperm(len(X), generator=gen).to(X.device)
        losses = []
        for idx in batches(len(X), hp["ae_batch_size"], order):
            x = X[idx]
            loss = reconstruction_loss(decoder(encoder(x)), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            steps += 1
        history.setdefault("pretrain_loss", []).append(float(np.mean(losses)))
        sched.step()
    return steps


class DeepSVDD:
    """Deep SVDD with Ruff et al.'s published settings (module docstring); the detector
    contract of ``core.contract.Detector`` (``fit`` on normals, higher score = more anomalous).

    ``objective`` is ``hb-svdd`` (Ruff's one-class) or ``sb-svdd`` (soft-boundary); ``arch``
    ``mlp`` (rows) or ``cnn`` (Ruff's LeNets: 1x28x28 or 3x32x32 inputs only).
    """

    def __init__(
        self, objective: str, arch: str, seed: int = 0, device: str = "cpu", **hparams: Any
    ):
        hp = deep_svdd_defaults(objective, arch)
        unknown = sorted(set(hparams) - set(hp))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for dsvdd-{objective}-{arch}; "
                f"valid: {sorted(hp)}"
            )
        hp.update({k: list(v) if isinstance(v, tuple) else v for k, v in hparams.items()})
        validate_deep_svdd(hp)
        self.objective, self.arch = objective, arch
        self.seed, self.device = int(seed), torch.device(device)
        self.hparams: dict[str, Any] = hp
        self.network = ""  # the resolved network: "mlp", "mnist_LeNet" or "cifar10_LeNet"
        self.n_steps = 0  # Deep SVDD optimizer steps
        self.n_pretrain_steps = 0  # autoencoder optimizer steps
        self.phase_seconds: dict[str, float] = {}
        self.history: History = {}
        self.centre_eps_share: dict[str, float] = {}
        self.centre: Tensor | None = None
        self.radius = 0.0  # R (soft boundary), not squared
        self._net: LayerStack | None = None
        self._targets: Targets = {}
        self._scale: Tensor | None = None
        self._in_shape: tuple[int, ...] = ()
        self._built: tuple[tuple[int, ...], LayerStack, nn.Module] | None = None

    # ---- building ---------------------------------------------------------------------------
    def build(self, sample_shape: tuple[int, ...]) -> DeepSVDD:
        """Build encoder and decoder for samples of ``sample_shape`` ahead of ``fit`` (so a
        memory meter around ``fit`` excludes their allocation); the next fit on that shape
        trains them."""
        shape = tuple(int(n) for n in sample_shape)
        self._built = (shape, *self._build(shape, self._generators()[0]))
        return self

    def _build(self, shape: tuple[int, ...], gen: torch.Generator) -> tuple[LayerStack, nn.Module]:
        hp = self.hparams
        slope = hp["leaky_slope"]
        if self.arch == "mlp":
            if len(shape) != 1:
                raise ValueError(f"mlp expects rows (N, d); got sample shape {shape}")
            self.network = "mlp"
            net = build_mlp(shape[0], hp["widths"], False, slope, gen, normalise=False)
            decoder: nn.Module = MLPDecoder(shape[0], hp["widths"], slope)
            _init_weights(decoder, gen, xavier_convs=False)
        else:
            if shape not in LENETS:
                raise ValueError(
                    f"Ruff's LeNets take 1x28x28 (MNIST) or 3x32x32 (CIFAR-10) images; got "
                    f"sample shape {shape}"
                )
            name, channels, rep_dim = LENETS[shape]
            self.network = name
            for key, value in _AE_BY_NET[name].items():
                if hp[key] is None:
                    hp[key] = list(value) if isinstance(value, list) else value
            net = build_cnn(shape, channels, rep_dim, False, slope, gen, normalise=False)  # type: ignore[arg-type]
            decoder = LeNetDecoder(name, rep_dim, slope)
            cifar = name == "cifar10_LeNet"
            _init_weights(decoder, gen, xavier_convs=cifar)
            if cifar and hp["pretrain"]:  # Ruff's CIFAR-10 autoencoder: Xavier encoder convs
                for m in net.modules():
                    if isinstance(m, nn.Conv2d):
                        _init_weights(m, gen, xavier_convs=True)
        return net.to(self.device), decoder.to(self.device)

    # ---- contract ---------------------------------------------------------------------------
    def fit(self, X: np.ndarray) -> DeepSVDD:
        """Pretrain (autoencoder), set the centre, train Deep SVDD on normal samples ``X``.

        Phases timed apart in :attr:`phase_seconds`: ``pretrain``, ``train`` (centre and the
        Deep SVDD steps) and ``calibrate`` (hidden layers' objectives, the ``sum`` scales)."""
        x = self._tensor(X, fitting=True)
        init_gen, shuffle_gen, ae_gen = self._generators()
        hp = self.hparams
        shape = tuple(x.shape[1:])
        built, self._built = self._built, None
        if built is not None and built[0] == shape:
            net, decoder = built[1], built[2]
        else:
            net, decoder = self._build(shape, init_gen)
        self.history = {}
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            t0 = clock(self.device)
            self.n_pretrain_steps = 0
            if hp["pretrain"]:
                self.n_pretrain_steps = pretrain_autoencoder(
                    net, decoder, x, hp, ae_gen, self.history
                )
            t1 = clock(self.device)
            last = len(net.layers) - 1
            target = self._train(net, x, shuffle_gen)
            t2 = clock(self.device)
            targets: Targets = {last: target}
            later = {k: self._objective() for k in range(last)}
            fit_after_training(net, later, x, hp["batch_size"])
            targets = dict(sorted({**targets, **later}.items()))
            train_scores = layer_scores(net, targets, x, hp["batch_size"])
            self._scale = train_scores.abs().mean(0).clamp_min(1e-12)
            self._net, self._targets = net, targets
            self.phase_seconds = {
                "pretrain": t1 - t0,
                "train": t2 - t1,
                "calibrate": clock(self.device) - t2,
            }
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores under the declared rule (``score_layers``; Ruff's is ``last``)."""
        return self.score_rules(X)[self.hparams["score_layers"]]

    def score_rules(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Scores under every rule from one pass: ``last``, ``sum``, ``layer1`` ... ``layerL``."""
        if self._net is None or self._scale is None:
            raise RuntimeError("DeepSVDD is not fitted: call fit first")
        x = self._tensor(X, fitting=False)
        batch = max(self.hparams["batch_size"], 256)
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            scores = layer_scores(self._net, self._targets, x, batch)
        return rules(scores, self._scale)

    # ---- training ---------------------------------------------------------------------------
    def _objective(self) -> HardBoundarySVDD:
        hp = self.hparams
        o = make_objective(self.objective, 1.0, hp.get("nu", 0.1), hp["centre_eps"])
        assert isinstance(o, HardBoundarySVDD)
        return o

    def _train(self, net: LayerStack, x: Tensor, gen: torch.Generator) -> HardBoundarySVDD:
        """Ruff's ``DeepSVDDTrainer.train`` on the last layer's output; returns its objective."""
        hp = self.hparams
        target = self._objective()
        target.centre, share = initial_centre(net, x, hp["batch_size"], hp["centre_eps"])
        target.eps_share = share
        self.centre = target.centre
        layer = f"layer{len(net.layers)}"
        self.centre_eps_share = {layer: share}
        soft = isinstance(target, SoftBoundarySVDD)
        params = list(net.parameters())
        opt, sched = _epochs(params, hp["lr"], hp["weight_decay"], hp["lr_milestones"])
        net.train()
        steps = 0
        for epoch in range(hp["epochs"]):
            self.history.setdefault("train_lr", []).append(opt.param_groups[0]["lr"])
            order = torch.randperm(len(x), generator=gen).to(x.device)
            stats, losses = [], []
            for idx in batches(len(x), hp["batch_size"], order):
                s = target.stat(net(x[idx]))
                loss = target.loss_from(s)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps += 1
                if soft and epoch >= hp["radius_warmup_epochs"]:  # R from this batch, per step
                    self.radius = ruff_radius(s, hp["nu"])
                    target.r2 = self.radius**2
                stats.append(s.detach())
                losses.append(loss.item())
            mean_stat = float(torch.cat(stats).mean())
            self.history.setdefault(f"train_stat.{layer}", []).append(mean_stat)
            self.history.setdefault(f"train_loss.{layer}", []).append(float(np.mean(losses)))
            if soft:
                self.history.setdefault("radius", []).append(self.radius)
            sched.step()
        self.n_steps = steps
        return target

    # ---- introspection ----------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Trainable parameters of the fitted Deep SVDD network (the decoder not counted)."""
        if self._net is None:
            raise RuntimeError("n_params is known after fit (the input size sets the first layer)")
        return sum(p.numel() for p in self._net.parameters() if p.requires_grad)

    # ---- helpers ----------------------------------------------------------------------------
    def _generators(self) -> tuple[torch.Generator, torch.Generator, torch.Generator]:
        """Fresh (init, Deep SVDD shuffle, autoencoder shuffle) generators from the seed."""
        states = np.random.SeedSequence(self.seed).generate_state(3)
        gens = tuple(torch.Generator().manual_seed(int(s)) for s in states)
        return gens  # type: ignore[return-value]

    def _tensor(self, X: np.ndarray, fitting: bool) -> Tensor:
        """Checked float32 tensor on the detector's device (fitting records the sample shape)."""
        x = checked_tensor(X, self.arch, self.device, None if fitting else self._in_shape)
        if fitting:
            self._in_shape = tuple(x.shape[1:])
        return x
