"""What the deep one-class literature does to make networks strong, as options of
``ff.OneClassDetector`` (issue 22), every one off by default (``ff.hparams.defaults``):

* ``activation="tanh"``: bounded hidden activations instead of LeakyReLU (``ff.networks``).
  Ruff et al. (2018, Prop. 3) warn that bounded activations admit trivial Deep SVDD solutions
  and use unbounded ones, with bias-free layers (Prop. 2, the SVDD default here); offered so the
  selection can test the warning on both objectives.
* ``pretrain="autoencoder"``: before training, as many autoencoder steps as training takes
  (the same ``epochs`` / ``max_steps``, optimizer and lr; Deep SVDD's pretraining, Ruff et al.
  2018). Each family pretrains by its own rule: FF layer-wise (every layer with a bias-free
  linear decoder reconstructs its own detached input; no gradient crosses a layer), the twins
  end to end (the stack and a mirrored decoder reconstruct the input). The loss is relative:
  the squared reconstruction error over the squared input norm, batch means, so one lr suits
  the raw first-layer input and the unit-length later ones. The decoders are dropped after.
* ``ensemble=k``: k networks of different seeds (the first of them the detector's own seed),
  each rule's scores averaged after each network's are standardised by their mean and standard
  deviation on its training normals (:func:`combine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ff.autoencoder import MLPDecoder, init_weights
from ff.networks import LayerStack, length_normalise
from ff.training import History, LoopConfig, batches, make_optimizer


def member_seeds(seed: int, k: int) -> list[int]:
    """The seeds of a k-network ensemble: ``seed`` itself, then k - 1 derived from it."""
    return [int(seed)] + [
        int(np.random.SeedSequence([int(seed), i]).generate_state(1)[0]) for i in range(1, k)
    ]


def combine(
    members: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]],
) -> dict[str, np.ndarray]:
    """Per rule, the mean over members of (scores - mean) / std of that member's training
    normals' scores under the rule; ``members``: (scores, training normals' scores) each."""
    out = {}
    for rule in members[0][0]:
        z = [
            (scores[rule] - train[rule].mean()) / max(float(train[rule].std()), 1e-12)
            for scores, train in members
        ]
        out[rule] = np.mean(z, axis=0)
    return out


def relative_error(rec: Tensor, x: Tensor) -> Tensor:
    """Squared reconstruction error over the squared input norm (batch means)."""
    err = (rec - x).pow(2).reshape(len(x), -1).sum(1).mean()
    return err / x.detach().pow(2).reshape(len(x), -1).sum(1).mean().clamp_min(1e-12)


def pretrain(
    net: LayerStack,
    x: Tensor,
    layerwise: bool,
    cfg: LoopConfig,
    optimizer: tuple[str, float, float],
    gen: torch.Generator,
    history: History,
    slope: float = 0.01,
) -> int:
    """Autoencoder pretraining of ``net`` on ``x`` (module docstring): ``layerwise`` (FF) or
    end to end; ``optimizer`` is (name, lr, weight decay); decoders (:func:`decoders`, the
    end-to-end one with LeakyReLU of ``slope``) initialised and batches shuffled from
    ``gen``. ``history`` gets ``pretrain_loss`` per epoch (the mean over batches of the summed
    losses); returns the number of steps."""
    name, lr, decay = optimizer
    decs = decoders(net, x.shape[1], layerwise, slope)
    init_weights(decs, gen, xavier_convs=False)  # on the CPU, where ``gen`` lives
    decs.to(x.device)
    if layerwise:
        layers = zip(net.layers, decs, strict=True)
        pairs = [[*layer.parameters(), *dec.parameters()] for layer, dec in layers]
    else:
        pairs = [[*net.parameters(), *decs.parameters()]]
    opts = [make_optimizer(p, name, lr, decay) for p in pairs]
    net.train()
    steps = 0
    for _ in range(cfg.epochs):
        order = torch.randperm(len(x), generator=gen).to(x.device)
        losses = []
        for idx in batches(len(x), cfg.batch_size, order):
            if cfg.max_steps is not None and steps >= cfg.max_steps:
                break
            if layerwise:
                losses.append(_layerwise_step(net, decs, opts, x[idx]))
            else:
                loss = relative_error(decs[0](net(x[idx])), x[idx])
                loss.backward()
                opts[0].step()
                opts[0].zero_grad()
                losses.append(loss.item())
            steps += 1
        if losses:
            history.setdefault("pretrain_loss", []).append(float(np.mean(losses)))
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            break
    return steps


def decoders(net: LayerStack, in_dim: int, layerwise: bool, slope: float) -> nn.ModuleList:
    """The pretraining decoders of an MLP ``net`` on ``in_dim`` features, uninitialised:
    ``layerwise``, one bias-free linear map per layer back to that layer's input; else one
    mirrored decoder of the whole stack (``ff.autoencoder.MLPDecoder``)."""
    widths = [_width(layer) for layer in net.layers]
    if layerwise:
        dims = [in_dim, *widths[:-1]]
        return nn.ModuleList(nn.Linear(w, d, bias=False) for w, d in zip(widths, dims, strict=True))
    return nn.ModuleList([MLPDecoder(in_dim, widths, slope)])


def _layerwise_step(net: LayerStack, decoders: nn.ModuleList, opts: list, x: Tensor) -> float:
    """Every layer reconstructs its own input (detached, normalised as the stack does)."""
    total, h = 0.0, x
    for k, (layer, dec) in enumerate(zip(net.layers, decoders, strict=True)):
        inp = h.detach()
        if k and net.normalise:
            inp = length_normalise(inp)
        h = layer(inp)
        loss = relative_error(dec(h), inp)
        loss.backward()
        opts[k].step()
        opts[k].zero_grad()
        total += loss.item()
    return total


def _width(layer: nn.Module) -> int:
    linears = [m for m in layer.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("autoencoder pretraining is defined for the mlp only")
    return linears[-1].out_features
