"""Ruff et al.'s autoencoder pretraining for Deep SVDD (``optim/ae_trainer.py`` and the
``*_LeNet_Autoencoder`` decoders of github lukasruff/Deep-SVDD-PyTorch).

The decoders: the LeNet autoencoders' (transposed convolutions with nearest-neighbour
interpolation and a sigmoid output; CIFAR-10's with Xavier-initialised convolutions and a
BatchNorm1d on the code), a mirrored decoder for the MLP. The loss: the per-sample sum of
squared errors averaged over the batch; Adam with Ruff's x0.1 learning-rate drops
(:func:`ruff_adam`, also Deep SVDD's own optimizer). The trained encoder is the Deep SVDD
network (``ff.deepsvdd``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ff.training import History, batches


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


def init_weights(module: nn.Module, gen: torch.Generator, xavier_convs: bool) -> None:
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


def ruff_adam(
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
    opt, sched = ruff_adam(params, hp["ae_lr"], hp["ae_weight_decay"], hp["ae_lr_milestones"])
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
