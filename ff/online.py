"""Online (prequential) learners: an FF one-class network and its backprop twins on a stream.

The stream comes in mini-batches; :meth:`OnlineOneClassLearner.score_learn` scores a batch
with the network as it stands, then updates it on that batch, in ONE forward pass:

* ``ff``: layer by layer, each layer's forward pass gives the batch's scores on that layer
  (from the pre-update weights) and, right after, that layer's own loss, backward pass and
  optimizer step; the next layer runs on the detached (pre-update) output. Only one layer's
  graph is alive at a time (the same update as ``ff.training.ff_step``, sequential).
* ``bp`` (same-loss twin): every layer's loss summed, one end-to-end optimizer step
  (``ff.training.bp_step``); ``bpl`` (last-layer twin): the last layer's loss only. Their
  scores come from the same forward pass, before the step.

Scores are never computed by a network that has already learned the batch. Rules: ``last``,
``sum`` (each layer's score divided by a running estimate of its mean absolute score, summed)
and ``layer<k>`` for ``ff`` and ``bp``; ``last`` for ``bpl`` (its hidden layers have no
objective). The ``sum`` scales start from the warm-up samples (initial network) and are
updated after each batch with that batch's scores (a running mean over every sample seen), so
a batch is always scored with scales from earlier samples only.

The warm-up (:meth:`start`) initialises the network's state without any optimizer step:
SVDD centres (Deep SVDD's initial forward pass, as ``ff.training.init_centres``) and the
``sum`` scales. Objectives with a radius (``sb-svdd``, ``ls-svdd``) are not supported online:
their radius is an epoch-level quantile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ff.base import NetworkDetector, check_known, rules
from ff.hparams import (
    ONLINE_MODES,
    ONLINE_OBJECTIVES,
    STREAM_BATCH,
    STREAM_WARMUP,
    online_defaults,
    validate_online,
)
from ff.networks import build_mlp
from ff.objectives import make_objective
from ff.optim import Optimizer
from ff.training import init_centres, make_optimizer

_NO_RADIUS = 0.5  # nu of a radius objective: none of ONLINE_OBJECTIVES has one


class OnlineOneClassLearner(NetworkDetector):
    """An MLP one-class network learning from a stream by ``ff``, ``bp`` or ``bpl``.

    ``start(X_warm)`` once, then ``score_learn(X_batch)`` per batch. :attr:`seconds` holds the
    cumulative ``score`` time (forward passes and scores) and ``update`` time (losses,
    backward passes, optimizer steps), measured apart.
    """

    arch = "mlp"

    def __init__(
        self, objective: str, mode: str = "ff", seed: int = 0, device: str = "cpu", **hparams: Any
    ):
        hp = online_defaults(objective, mode)
        check_known(hp, hparams)
        hp.update(hparams)
        validate_online(mode, hp)
        self.objective, self.mode = objective, mode
        super().__init__(seed, device, hp)
        self.seconds = {"score": 0.0, "update": 0.0}
        self._optimizers: list[Optimizer] = []
        self._seen = 0

    # ---- set-up ------------------------------------------------------------------------------
    def build(self, sample_shape: tuple[int, ...]) -> OnlineOneClassLearner:
        """Network, objectives and optimizers for samples of ``sample_shape`` (d,)."""
        if len(sample_shape) != 1:
            raise ValueError(f"online learners take rows (N, d); got sample shape {sample_shape}")
        hp = self.hparams
        (gen,) = self._generators()
        net = build_mlp(
            int(sample_shape[0]), hp["widths"], hp["bias"], hp["leaky_slope"], gen, hp["normalise"]
        ).to(self.device)
        n = len(net.layers)
        layers = [n - 1] if self.mode == "bpl" else range(n)
        self._targets = {
            k: make_objective(self.objective, hp["theta"], _NO_RADIUS, hp["centre_eps"])
            for k in layers
        }
        opt = (hp["optimizer"], hp["lr"], hp["weight_decay"])
        if self.mode == "ff":
            self._optimizers = [
                make_optimizer(list(layer.parameters()), *opt) for layer in net.layers
            ]
        else:
            self._optimizers = [make_optimizer(list(net.parameters()), *opt)]
        self._net = net
        return self

    def start(self, X: np.ndarray) -> None:
        """Initialise from the warm-up samples ``X``: SVDD centres and the ``sum`` scales (no
        optimizer step)."""
        x = self._tensor(X, fitting=True)
        if self._net is None:
            self.build(tuple(x.shape[1:]))
        assert self._net is not None
        init_centres(self._net, self._targets, x, len(x))
        with torch.no_grad():
            stats = dict(zip(self._targets, self._forward(x), strict=True))
        scores = torch.stack([self._targets[k].score_from(s.double()) for k, s in stats.items()], 1)
        self._scale = scores.abs().mean(0).clamp_min(1e-12)
        self._seen = len(x)

    # ---- the stream ----------------------------------------------------------------------------
    def score_learn(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of the batch ``X`` under every rule, from the network before it learns ``X``;
        then one update on ``X`` (in the same forward pass)."""
        if self._net is None or self._scale is None:
            raise RuntimeError("call start(X_warmup) before score_learn")
        x = self._tensor(X, fitting=False)
        self._net.train()
        step = self._ff if self.mode == "ff" else self._bp
        cols = step(x)  # (N, n_targets) float64, pre-update
        self.n_steps += 1
        if self.mode == "bpl":  # its hidden layers have no objective
            return {"last": cols[:, -1].cpu().numpy().astype(np.float64)}
        out = rules(cols, self._scale)
        n = len(x)
        self._scale = (self._scale * self._seen + cols.abs().sum(0)) / (self._seen + n)
        self._seen += n
        return out

    def _ff(self, x: Tensor) -> Tensor:
        """Each layer: forward, score (pre-update), own loss, backward, step; then the next."""
        cols = []
        layers = self._net.outputs(x, detach=True)  # type: ignore[union-attr]
        for k in range(len(self._optimizers)):
            t0 = self._clock()
            h = next(layers)  # the next layer's input is this output, detached
            s = self._targets[k].stat(h)
            cols.append(self._targets[k].score_from(s.detach().double()))
            t1 = self._clock()
            self._targets[k].loss_from(s).backward()
            self._optimizers[k].step()
            self._optimizers[k].zero_grad()
            self.seconds["score"] += t1 - t0
            self.seconds["update"] += self._clock() - t1
        return torch.stack(cols, 1)

    def _bp(self, x: Tensor) -> Tensor:
        """Forward end to end (scores from the pre-update network), one step on the summed
        losses of the targets."""
        t0 = self._clock()
        stats = dict(zip(self._targets, self._forward(x), strict=True))
        cols = torch.stack(
            [self._targets[k].score_from(s.detach().double()) for k, s in stats.items()], 1
        )
        t1 = self._clock()
        total = sum(self._targets[k].loss_from(s) for k, s in stats.items())
        total.backward()  # type: ignore[union-attr]
        self._optimizers[0].step()
        self._optimizers[0].zero_grad()
        self.seconds["score"] += t1 - t0
        self.seconds["update"] += self._clock() - t1
        return cols

    def _forward(self, x: Tensor) -> list[Tensor]:
        """The targets' statistics, end to end (no detach), in target order."""
        return [
            self._targets[k].stat(h)
            for k, h in enumerate(self._net.outputs(x, detach=False))  # type: ignore[union-attr]
            if k in self._targets
        ]


__all__ = [
    "ONLINE_MODES",
    "ONLINE_OBJECTIVES",
    "STREAM_BATCH",
    "STREAM_WARMUP",
    "OnlineOneClassLearner",
    "online_defaults",
]
