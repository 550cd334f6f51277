"""Deep SVDD as Ruff et al. (2018) published it (github lukasruff/Deep-SVDD-PyTorch).

``DeepSVDD(objective, arch)`` follows that code's ``main.py``, ``optim/ae_trainer.py``,
``optim/deepSVDD_trainer.py`` and ``networks/{mnist,cifar10}_LeNet.py`` with the settings of
its README commands, where our FF-friendly defaults (``ff.defaults``) differ:

* the network: our MLP or Ruff's LeNets (``ff.networks``) with bias-free layers and no length
  normalisation between layers (BatchNorm eps 1e-4, affine=False in the LeNets);
* autoencoder pretraining on the training normals (``ff.autoencoder``): the LeNet
  autoencoders' decoders, a mirrored decoder for the MLP; loss: the per-sample sum of squared
  errors averaged over the batch; Adam, lr 1e-4, batch 200, a x0.1 drop at the milestone;
  MNIST's command 150 epochs, milestone 50, weight decay 5e-4; CIFAR-10's 350, 250, 5e-7
  (for the CNN chosen by the input's channels at fit time, like the LeNet itself; the MLP
  takes MNIST's). The trained encoder (its BatchNorm statistics too) initialises the Deep
  SVDD network;
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

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ff.autoencoder import LeNetDecoder, MLPDecoder, init_weights, pretrain_autoencoder, ruff_adam
from ff.base import BatchDetector, Phases, check_known
from ff.hparams import AE_CIFAR10, AE_MNIST, deep_svdd_defaults, validate_deep_svdd
from ff.networks import LayerStack, build_cnn, build_mlp
from ff.objectives import HardBoundarySVDD, SoftBoundarySVDD, make_objective
from ff.training import Targets, batches

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


class DeepSVDD(BatchDetector):
    """Deep SVDD with Ruff et al.'s published settings (module docstring); the detector
    contract of ``core.contract.Detector`` (``fit`` on normals, higher score = more anomalous).

    ``objective`` is ``hb-svdd`` (Ruff's one-class) or ``sb-svdd`` (soft-boundary); ``arch``
    ``mlp`` (rows) or ``cnn`` (Ruff's LeNets: 1x28x28 or 3x32x32 inputs only). Fit phases:
    ``pretrain`` (the autoencoder), ``train`` (centre and the Deep SVDD steps) and
    ``calibrate`` (:class:`ff.base.BatchDetector`).
    """

    n_generators = 3  # (init, Deep SVDD shuffle, autoencoder shuffle)

    def __init__(
        self, objective: str, arch: str, seed: int = 0, device: str = "cpu", **hparams: Any
    ):
        hp = deep_svdd_defaults(objective, arch)
        check_known(hp, hparams, f" for dsvdd-{objective}-{arch}")
        hp.update({k: list(v) if isinstance(v, tuple) else v for k, v in hparams.items()})
        validate_deep_svdd(hp)
        self.objective, self.arch = objective, arch
        super().__init__(seed, device, hp)
        self.network = ""  # the resolved network: "mlp", "mnist_LeNet" or "cifar10_LeNet"
        self.n_pretrain_steps = 0  # autoencoder optimizer steps (n_steps: Deep SVDD's)
        self.centre: Tensor | None = None
        self.radius = 0.0  # R (soft boundary), not squared

    def _build(self, shape: tuple[int, ...], gen: torch.Generator) -> tuple[LayerStack, nn.Module]:
        """The Deep SVDD network (the encoder) and its decoder, on the device."""
        hp = self.hparams
        slope = hp["leaky_slope"]
        if self.arch == "mlp":
            if len(shape) != 1:
                raise ValueError(f"mlp expects rows (N, d); got sample shape {shape}")
            self.network = "mlp"
            net = build_mlp(shape[0], hp["widths"], False, slope, gen, normalise=False)
            decoder: nn.Module = MLPDecoder(shape[0], hp["widths"], slope)
            init_weights(decoder, gen, xavier_convs=False)
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
            init_weights(decoder, gen, xavier_convs=cifar)
            if cifar and hp["pretrain"]:  # Ruff's CIFAR-10 autoencoder: Xavier encoder convs
                for m in net.modules():
                    if isinstance(m, nn.Conv2d):
                        init_weights(m, gen, xavier_convs=True)
        return net.to(self.device), decoder.to(self.device)

    # ---- training ---------------------------------------------------------------------------
    def _objective(self) -> HardBoundarySVDD:
        hp = self.hparams
        o = make_objective(self.objective, 1.0, hp.get("nu", 0.1), hp["centre_eps"])
        assert isinstance(o, HardBoundarySVDD)
        return o

    def _train(
        self,
        model: tuple[LayerStack, nn.Module],
        x: Tensor,
        gens: tuple[torch.Generator, ...],
        phases: Phases,
    ) -> tuple[LayerStack, Targets]:
        """Pretrain the autoencoder (phase ``pretrain``), then Deep SVDD on the last layer."""
        net, decoder = model
        shuffle_gen, ae_gen = gens
        self.n_pretrain_steps = 0
        if self.hparams["pretrain"]:
            self.n_pretrain_steps = pretrain_autoencoder(
                net, decoder, x, self.hparams, ae_gen, self.history
            )
        phases.end("pretrain")
        return net, {len(net.layers) - 1: self._svdd(net, x, shuffle_gen)}

    def _svdd(self, net: LayerStack, x: Tensor, gen: torch.Generator) -> HardBoundarySVDD:
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
        opt, sched = ruff_adam(params, hp["lr"], hp["weight_decay"], hp["lr_milestones"])
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

    @property
    def _eval_batch(self) -> int:
        return max(self.hparams["batch_size"], 256)
