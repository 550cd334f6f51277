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

from ff.common import checked_tensor, clock, rules
from ff.hparams import ARCHS, MODES, OBJECTIVES, check_choice, defaults, validate
from ff.networks import LayerStack, build_cnn, build_mlp
from ff.objectives import Goodness, HardBoundarySVDD, Objective, make_objective
from ff.training import (
    History,
    LoopConfig,
    Targets,
    bp_step,
    ff_step,
    fit_after_training,
    init_centres,
    layer_scores,
    make_optimizer,
    run_loop,
)

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


class OneClassDetector:
    """A one-class network trained by one of :data:`MODES` on one objective of :data:`OBJECTIVES`.

    Every mode ends with an objective on every layer, so every network is scored by every rule
    (:meth:`score_rules`): ``last``, ``sum`` (each layer's score divided by its mean absolute
    value on the training data, summed) and ``layer<k>`` alone. Objectives on layers that were
    not trained with one (the last-layer twin's hidden layers; every layer of the untrained
    control) are fitted after training on the training normals (``ff.training``).
    ``score_layers`` picks the rule ``score_samples`` returns.
    """

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
        unknown = sorted(set(hparams) - set(hp))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for {mode}-{objective}-{arch}; "
                f"valid: {sorted(hp)}"
            )
        hp.update({k: _plain(v) for k, v in hparams.items()})
        validate(hp)
        self.objective, self.arch, self.mode = objective, arch, mode
        self.seed, self.device = int(seed), torch.device(device)
        self.hparams: dict[str, Any] = hp
        self.n_steps = 0
        self.phase_seconds: dict[str, float] = {}
        self.history: History = {}  # per-epoch training curves, see ff.training.run_loop
        self.centre_eps_share: dict[str, float] = {}  # per trained SVDD layer
        self.collapsed: list[str] = []  # goodness layers below COLLAPSE_GOODNESS
        self._net: LayerStack | None = None
        self._targets: Targets = {}
        self._scale: Tensor | None = None
        self._in_shape: tuple[int, ...] = ()
        self._built: tuple[tuple[int, ...], LayerStack] | None = None

    def build(self, sample_shape: tuple[int, ...]) -> OneClassDetector:
        """Build the initial network for samples of ``sample_shape`` ahead of ``fit``.

        Optional: lets a memory meter around ``fit`` exclude the parameters' allocation. The
        next ``fit`` on data of that shape trains this network (same weights as building it
        inside ``fit``); any other fit builds afresh.
        """
        shape = tuple(int(n) for n in sample_shape)
        self._built = shape, self._build(shape, self._generators()[0]).to(self.device)
        return self

    # ---- contract -------------------------------------------------------------------------
    def fit(self, X: np.ndarray) -> OneClassDetector:
        """Train on normal samples ``X`` ((N, d) for the MLP, (N, C, H, W) for the CNN).

        Two phases, timed apart in :attr:`phase_seconds`: ``train`` (the optimizer steps) and
        ``calibrate`` (fitting untrained layers' objectives and the ``sum`` rule's scales, in
        training-sized batches, so it never outgrows a training step).
        """
        x = self._tensor(X, fitting=True)
        init_gen, shuffle_gen = self._generators()
        hp = self.hparams
        shape = tuple(x.shape[1:])
        built, self._built = self._built, None
        if built is not None and built[0] == shape:
            net = built[1]
        else:
            net = self._build(shape, init_gen).to(self.device)
        n_layers = len(net.layers)
        every = range(n_layers)
        trained = {"ff": every, "bp": every, "bp-ckpt": every, "bp-accum": every}
        trained["bpl"] = [n_layers - 1]
        targets: Targets = {k: self._objective() for k in trained.get(self.mode, [])}
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            t0 = clock(self.device)
            self.history = {}
            if targets:
                self.n_steps = self._train(net, targets, x, shuffle_gen)
            t1 = clock(self.device)
            self._diagnose(targets)
            later = {k: self._objective() for k in range(n_layers) if k not in targets}
            fit_after_training(net, later, x, hp["batch_size"])
            targets = dict(sorted({**targets, **later}.items()))
            train_scores = layer_scores(net, targets, x, hp["batch_size"])
            self._scale = train_scores.abs().mean(0).clamp_min(1e-12)
            self._net, self._targets = net, targets
            self.phase_seconds = {"train": t1 - t0, "calibrate": clock(self.device) - t1}
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores under the declared rule (``score_layers``), float64 (N,)."""
        return self.score_rules(X)[self.hparams["score_layers"]]

    def score_rules(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Scores under every rule from one pass: ``last``, ``sum``, ``layer1`` ... ``layerL``."""
        if self._net is None or self._scale is None:
            raise RuntimeError("OneClassDetector is not fitted: call fit first")
        x = self._tensor(X, fitting=False)
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            scores = layer_scores(self._net, self._targets, x, self._eval_batch)
        return rules(scores, self._scale)

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

    def _train(self, net: LayerStack, targets: Targets, x: Tensor, gen: torch.Generator) -> int:
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

    # ---- introspection --------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Trainable parameters of the fitted network."""
        if self._net is None:
            raise RuntimeError("n_params is known after fit (the input size sets the first layer)")
        return sum(p.numel() for p in self._net.parameters() if p.requires_grad)

    # ---- helpers --------------------------------------------------------------------------
    def _generators(self) -> tuple[torch.Generator, torch.Generator]:
        """Fresh (init, shuffle) generators derived from the seed."""
        init, shuffle = np.random.SeedSequence(self.seed).generate_state(2)
        return torch.Generator().manual_seed(int(init)), torch.Generator().manual_seed(int(shuffle))

    @property
    def _eval_batch(self) -> int:
        return max(self.hparams["batch_size"], 1024 if self.arch == "mlp" else 256)

    def _build(self, shape: tuple[int, ...], gen: torch.Generator) -> LayerStack:
        hp = self.hparams
        if self.arch == "mlp":
            return build_mlp(
                shape[0], hp["widths"], hp["bias"], hp["leaky_slope"], gen, hp["normalise"]
            )
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
        )

    def _tensor(self, X: np.ndarray, fitting: bool) -> Tensor:
        """Checked float32 tensor on the detector's device (fitting records the sample shape)."""
        x = checked_tensor(X, self.arch, self.device, None if fitting else self._in_shape)
        if fitting:
            self._in_shape = tuple(x.shape[1:])
        return x
