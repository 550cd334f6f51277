"""``OneClassDetector``: an FF-trained one-class network or its backprop twin.

Follows ``core.contract.Detector``: ``fit`` on normal samples only, ``score_samples`` higher =
more anomalous, ``hparams`` records every hyperparameter used (after defaults).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ff.base import BatchDetector, Phases, check_known
from ff.hparams import ARCHS, MODES, OBJECTIVES, check_choice, defaults, validate
from ff.networks import LayerStack, build_cnn, build_mlp
from ff.objectives import Goodness, HardBoundarySVDD, Objective, make_objective
from ff.training import (
    LoopConfig,
    Targets,
    bp_step,
    ff_step,
    init_centres,
    make_optimizer,
    run_loop,
)
from ff.tricks import combine, member_seeds, pretrain

# a goodness layer whose last-epoch mean goodness (sum of squared outputs, for inputs of unit
# length) falls below this has collapsed to the zero map, the trivial minimiser on normals only
COLLAPSE_GOODNESS = 1e-3
# CNN sizes when channels / rep_dim are left as None: Deep SVDD's LeNets by input channels
_CNN_GREY = ([8, 4], 32)
_CNN_COLOUR = ([32, 64, 128], 128)


def _plain(value: Any) -> Any:
    """JSON-friendly copy: tuples -> lists, numpy scalars -> python scalars."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class OneClassDetector(BatchDetector):
    """A one-class network trained by one of :data:`MODES` on one objective of :data:`OBJECTIVES`.

    Every mode ends with an objective on every layer, so every network is scored by every rule
    (:meth:`score_rules`): ``last``, ``sum`` (each layer's score divided by its mean absolute
    value on the training data, summed) and ``layer<k>`` alone. Objectives on layers that were
    not trained with one (the last-layer twin's hidden layers; every layer of the untrained
    control) are fitted after training on the training normals (``ff.training``).
    ``score_layers`` picks the rule ``score_samples`` returns. Fit phases: ``train`` (the
    optimizer steps, after any autoencoder ``pretrain`` steps) and ``calibrate``
    (:class:`ff.base.BatchDetector`). ``ensemble`` > 1 fits that many networks of different
    seeds and averages their standardised scores (:mod:`ff.tricks`).
    """

    n_generators = 3  # (init, shuffle, pretraining)

    def __init__(
        self,
        objective: str,
        arch: str,
        mode: str = "ff",
        seed: int = 0,
        device: str = "cpu",
        **hparams: Any,
    ):
        check_choice("objective", objective, OBJECTIVES)
        check_choice("arch", arch, ARCHS)
        check_choice("mode", mode, MODES)
        hp = defaults(objective, arch, mode)
        check_known(hp, hparams, f" for {mode}-{objective}-{arch}")
        hp.update({k: _plain(v) for k, v in hparams.items()})
        validate(hp)
        self.objective, self.arch, self.mode = objective, arch, mode
        super().__init__(seed, device, hp)
        self.collapsed: list[str] = []  # goodness layers below COLLAPSE_GOODNESS
        self.members: list[OneClassDetector] = []  # the ensemble's other networks

    # ---- the seed ensemble --------------------------------------------------------------------
    def fit(self, X: np.ndarray) -> OneClassDetector:
        """Train (:meth:`ff.base.BatchDetector.fit`); with ``ensemble`` = k, k - 1 more networks
        of derived seeds too (their steps and phase seconds added to this one's)."""
        super().fit(X)
        hp = {**self.hparams, "ensemble": 1}
        self.members = [
            OneClassDetector(self.objective, self.arch, self.mode, s, str(self.device), **hp)
            for s in member_seeds(self.seed, self.hparams["ensemble"])[1:]
        ]
        for member in self.members:
            member.fit(X)
            self.n_steps += member.n_steps
            for phase, seconds in member.phase_seconds.items():
                self.phase_seconds[phase] += seconds
        return self

    def score_rules(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Every rule's scores (:meth:`ff.base.BatchDetector.score_rules`); for an ensemble,
        per rule the mean of its networks' scores standardised on their training normals."""
        own = super().score_rules(X)
        if not self.members:
            return own
        others = [(m.score_rules(X), m.train_rules()) for m in self.members]
        return combine([(own, self.train_rules()), *others])

    @property
    def n_params(self) -> int:
        """Trainable parameters of the network, of every network for an ensemble."""
        return super().n_params + sum(m.n_params for m in self.members)

    # ---- training ---------------------------------------------------------------------------
    def _objective(self) -> Objective:
        hp = self.hparams
        return make_objective(
            self.objective,
            hp["theta"],
            hp["nu"],
            hp.get("centre_eps", 0.0),
            hp.get("variance_floor", 0.0),
        )

    def _train(
        self, net: LayerStack, x: Tensor, gens: tuple[torch.Generator, ...], phases: Phases
    ) -> tuple[LayerStack, Targets]:
        """Objectives on the layers this mode trains, and its optimizer steps (none for the
        untrained control); then the diagnosis of the trained layers."""
        n_layers = len(net.layers)
        every = range(n_layers)
        trained = {"ff": every, "bp": every, "bp-ckpt": every, "bp-accum": every}
        trained["bpl"] = [n_layers - 1]
        targets: Targets = {k: self._objective() for k in trained.get(self.mode, [])}
        if targets:
            steps = 0
            if self.hparams["pretrain"] != "none":
                steps = self._pretrain(net, x, gens[1])
            self.n_steps = steps + self._steps(net, targets, x, gens[0])
        self._diagnose(targets)
        return net, targets

    def _steps(self, net: LayerStack, targets: Targets, x: Tensor, gen: torch.Generator) -> int:
        """The optimizer steps of ``ff``, ``bp`` or ``bpl``; returns how many were taken."""
        hp = self.hparams
        cfg = LoopConfig(
            epochs=hp["epochs"],
            max_steps=hp["max_steps"],
            batch_size=hp["batch_size"],
            radius_update_every=hp["radius_update_every"],
            radius_warmup_epochs=hp["radius_warmup_epochs"],
        )
        init_centres(net, targets, x, hp["batch_size"])
        net.train()
        if self.mode == "ff":
            optimizers = [
                make_optimizer(
                    list(layer.parameters()), hp["optimizer"], hp["lr"], hp["weight_decay"]
                )
                for layer in net.layers
            ]
            step = ff_step(net, targets, optimizers, fused=hp["update"] == "fused")
        else:
            opt = make_optimizer(
                list(net.parameters()), hp["optimizer"], hp["lr"], hp["weight_decay"]
            )
            segment = None
            if self.mode == "bp-ckpt":
                segment = hp["checkpoint_layers"] or math.ceil(math.sqrt(len(net.layers)))
            step = bp_step(net, targets, opt, segment, hp.get("micro_batches", 1))
        return run_loop(step, targets, x, cfg, gen, self.history)

    def _pretrain(self, net: LayerStack, x: Tensor, gen: torch.Generator) -> int:
        """Autoencoder steps (:func:`ff.tricks.pretrain`): FF layer-wise, the twins end to
        end; as many as training takes, with its optimizer and lr."""
        hp = self.hparams
        cfg = LoopConfig(hp["epochs"], hp["max_steps"], hp["batch_size"], 1, 1)
        opt = (hp["optimizer"], hp["lr"], hp["weight_decay"])
        layerwise = self.mode == "ff"
        return pretrain(net, x, layerwise, cfg, opt, gen, self.history, hp["leaky_slope"])

    def _diagnose(self, trained: Targets) -> None:
        """Centre-eps shares of trained SVDD layers; goodness layers that collapsed."""
        self.centre_eps_share = {
            f"layer{k + 1}": o.eps_share
            for k, o in trained.items()
            if isinstance(o, HardBoundarySVDD) and o.eps_share is not None
        }
        self.collapsed = [
            f"layer{k + 1}"
            for k, o in trained.items()
            if isinstance(o, Goodness)
            and self.history.get(f"train_stat.layer{k + 1}", [1.0])[-1] < COLLAPSE_GOODNESS
        ]

    # ---- the network --------------------------------------------------------------------------
    def _build(self, shape: tuple[int, ...], gen: torch.Generator) -> LayerStack:
        hp = self.hparams
        if self.arch == "mlp":
            net = build_mlp(
                shape[0],
                hp["widths"],
                hp["bias"],
                hp["leaky_slope"],
                gen,
                hp["normalise"],
                hp["activation"],
            )
            return net.to(self.device)
        channels, rep_dim = _CNN_GREY if shape[0] == 1 else _CNN_COLOUR
        if hp["channels"] is None:
            hp["channels"] = list(channels)
        if hp["rep_dim"] is None:
            hp["rep_dim"] = rep_dim
        c, h, w = shape
        return build_cnn(
            (c, h, w),
            hp["channels"],
            hp["rep_dim"],
            hp["bias"],
            hp["leaky_slope"],
            gen,
            hp["normalise"],
            hp["activation"],
        ).to(self.device)
