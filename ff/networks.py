"""Layer stacks shared by FF and BP training: an MLP and a LeNet-style CNN.

A network is a list of layers (an MLP linear layer with its activation, or a conv block);
between layers the output is optionally length-normalised (unit L2 norm per sample, over all
features). The choice is the network's (``normalise``), never the training rule's, so an FF
network and its backprop twins with the same setting are the same function family.
Weights are initialised from a local ``torch.Generator`` so no global RNG state is touched.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn


def length_normalise(h: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale every sample's (flattened) activations to unit L2 norm."""
    norm = h.reshape(h.shape[0], -1).norm(dim=1).clamp_min(eps)
    return h / norm.reshape(-1, *([1] * (h.dim() - 1)))


class Flatten(nn.Module):
    """(batch, ...) -> (batch, features)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class LayerStack(nn.Module):
    """Layers applied in turn, length-normalised between them when ``normalise``."""

    def __init__(self, layers: list[nn.Module], normalise: bool = True):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.normalise = normalise

    def outputs(
        self, x: Tensor, detach: bool, start: int = 0, stop: int | None = None
    ) -> Iterator[Tensor]:
        """Yield each layer's output; ``detach`` cuts the graph between layers (FF). With
        ``start``/``stop``, ``x`` is layer ``start - 1``'s output and layers ``start`` to
        ``stop - 1`` run (a checkpointed segment)."""
        for k in range(start, len(self.layers) if stop is None else stop):
            layer = self.layers[k]
            if k:
                x = x.detach() if detach else x
                x = length_normalise(x) if self.normalise else x
            x = layer(x)
            yield x

    def forward(self, x: Tensor) -> Tensor:
        *_, out = self.outputs(x, detach=False)
        return out


def _init_(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear/Conv init, drawn from ``generator``."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def _materialise(
    layers: list[nn.Module], generator: torch.Generator, normalise: bool
) -> LayerStack:
    stack = LayerStack(layers, normalise).to_empty(device="cpu")
    for m in stack.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    _init_(stack, generator)
    return stack


def activation_module(name: str, slope: float) -> nn.Module:
    """The hidden layers' activation: ``leaky_relu`` (unbounded, the default) or ``tanh``
    (bounded in (-1, 1))."""
    if name == "leaky_relu":
        return nn.LeakyReLU(slope)
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}; choose from ['leaky_relu', 'tanh']")


def build_mlp(
    in_dim: int,
    widths: list[int],
    bias: bool,
    slope: float,
    generator: torch.Generator,
    normalise: bool = True,
    activation: str = "leaky_relu",
) -> LayerStack:
    """Linear layers of ``widths`` with the ``activation`` after every layer but the last."""
    layers: list[nn.Module] = []
    dims = [in_dim, *widths]
    with torch.device("meta"):
        for k, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            linear = nn.Linear(d_in, d_out, bias=bias)
            last = k == len(widths) - 1
            act = activation_module(activation, slope)
            layers.append(linear if last else nn.Sequential(linear, act))
    return _materialise(layers, generator, normalise)


def build_cnn(
    in_shape: tuple[int, int, int],
    channels: list[int],
    rep_dim: int,
    bias: bool,
    slope: float,
    generator: torch.Generator,
    normalise: bool = True,
    activation: str = "leaky_relu",
) -> LayerStack:
    """Deep-SVDD LeNet blocks (conv 5x5 - BN - ``activation`` (LeakyReLU) - maxpool 2), then a
    linear layer.

    Each conv block is one layer; the final linear map to ``rep_dim`` is the last layer.
    """
    c, h, w = in_shape
    if min(h, w) < 2 ** len(channels):
        raise ValueError(
            f"input {h}x{w} is too small for {len(channels)} pooling blocks "
            f"(needs at least {2 ** len(channels)} pixels a side)"
        )
    layers: list[nn.Module] = []
    with torch.device("meta"):
        for c_out in channels:
            layers.append(
                nn.Sequential(
                    nn.Conv2d(c, c_out, 5, padding=2, bias=False),
                    nn.BatchNorm2d(c_out, eps=1e-4, affine=False),
                    activation_module(activation, slope),
                    nn.MaxPool2d(2),
                )
            )
            c, h, w = c_out, h // 2, w // 2
        layers.append(nn.Sequential(Flatten(), nn.Linear(c * h * w, rep_dim, bias=bias)))
    return _materialise(layers, generator, normalise)
