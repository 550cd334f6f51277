"""``OneClassDetector``: an FF-trained one-class network or its backprop twin.

Follows ``bench.contract.Detector``: ``fit`` on normal samples only, ``score_samples`` higher =
more anomalous, ``hparams`` records every hyperparameter used (after defaults).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ff.networks import ARCHS, LayerStack, build_cnn, build_mlp
from ff.objectives import OBJECTIVES, make_objective
from ff.training import (
    LoopConfig,
    Targets,
    bp_step,
    ff_step,
    init_centres,
    layer_scores,
    make_optimizer,
    run_loop,
)

MODES = ("ff", "bp")

_CHOICES: dict[str, tuple[Any, ...]] = {
    "optimizer": ("adam", "sgd"),
    "score_layers": ("last", "sum"),
    "update": ("sequential", "fused"),
}
# CNN sizes when channels / rep_dim are left as None: Deep SVDD's LeNets by input channels
_CNN_GREY = ([8, 4], 32)
_CNN_COLOUR = ([32, 64, 128], 128)


def defaults(objective: str, arch: str) -> dict[str, Any]:
    """Default hyperparameters for an (objective, arch) pair, shared by the ff and bp modes.

    MLP values were chosen on the validation part of seeded banknote splits (60/20/20):
    goodness objectives keep improving up to ~50 epochs while the SVDD objectives degrade
    past ~20; ``score_layers="sum"`` beat ``"last"`` for the FF SVDD objectives; ``nu=0.9``
    (radius at the 10% quantile) beat 0.1 and 0.5 for sb/ls-svdd: the training data are clean,
    and with a small ``nu`` the least-squares loss pulls normals onto a wide shell, leaving its
    interior (where anomalies land) scored as normal.
    For the CNN, ``channels`` and ``rep_dim`` default to None, resolved at fit time from the
    input (one channel: [8, 4] and 32; more: [32, 64, 128] and 128).
    """
    _check("objective", objective, OBJECTIVES)
    _check("arch", arch, ARCHS)
    svdd = objective.endswith("svdd")
    hp: dict[str, Any] = {
        "epochs": (20 if svdd else 50) if arch == "mlp" else 20,
        "max_steps": None,
        "batch_size": 32 if arch == "mlp" else 128,
        "lr": 1e-3,
        "optimizer": "adam",
        "weight_decay": 1e-6,
        "bias": not svdd and arch == "mlp",
        "theta": 1.0,
        "nu": 0.9,
        "radius_update_every": 1,
        "radius_warmup_epochs": 1,
        "centre_eps": 0.1,
        "leaky_slope": 0.01,
        "score_layers": "sum",
        "update": "sequential",
    }
    if arch == "mlp":
        hp["widths"] = [128, 64, 32]
    else:
        hp["channels"] = None
        hp["rep_dim"] = None
    return hp


def _check(what: str, value: Any, valid: tuple[Any, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {list(valid)}")


def _plain(value: Any) -> Any:
    """JSON-friendly copy: tuples -> lists, numpy scalars -> python scalars."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _validate_hparams(hp: dict[str, Any]) -> None:
    for key, valid in _CHOICES.items():
        _check(key, hp[key], valid)
    for key in ("epochs", "batch_size", "radius_update_every"):
        if not isinstance(hp[key], int) or hp[key] < 1:
            raise ValueError(f"{key} must be a positive int, got {hp[key]!r}")
    cap = hp["max_steps"]
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise ValueError(f"max_steps must be None or a positive int, got {hp['max_steps']!r}")
    if not 0.0 < hp["nu"] < 1.0:
        raise ValueError(f"nu must lie in (0, 1), got {hp['nu']!r}")
    for key in ("widths", "channels"):
        if hp.get(key) is not None and (
            not hp[key] or not all(isinstance(w, int) and w > 0 for w in hp[key])
        ):
            raise ValueError(f"{key} must be a non-empty list of positive ints, got {hp[key]!r}")


class OneClassDetector:
    """A one-class network trained layer-wise by Forward-Forward (``mode="ff"``) or end to end
    by backprop (``mode="bp"``) on one objective of :data:`ff.OBJECTIVES`.

    FF trains every layer on its own objective (own optimizer, own centre/radius) and scores
    with the last layer or (``score_layers="sum"``) the sum of every layer's score divided by
    its mean absolute value on the training data. BP applies the objective to the last layer
    and scores with it; ``score_layers`` and ``update`` are FF-only and recorded in
    ``hparams`` as ``"last"`` and None in bp mode.
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
        _check("objective", objective, OBJECTIVES)
        _check("arch", arch, ARCHS)
        _check("mode", mode, MODES)
        hp = defaults(objective, arch)
        unknown = sorted(set(hparams) - set(hp))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for {objective}/{arch}; valid: {sorted(hp)}"
            )
        hp.update({k: _plain(v) for k, v in hparams.items()})
        _validate_hparams(hp)
        if mode == "bp":
            hp["score_layers"], hp["update"] = "last", None
        self.objective, self.arch, self.mode = objective, arch, mode
        self.seed, self.device = int(seed), torch.device(device)
        self.hparams: dict[str, Any] = hp
        self.n_steps = 0
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
        """Train on normal samples ``X`` ((N, d) for the MLP, (N, C, H, W) for the CNN)."""
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
        ids = range(n_layers) if self.mode == "ff" else [n_layers - 1]
        targets: Targets = {
            k: make_objective(self.objective, hp["theta"], hp["nu"], hp["centre_eps"]) for k in ids
        }
        cfg = LoopConfig(
            epochs=hp["epochs"],
            max_steps=hp["max_steps"],
            batch_size=hp["batch_size"],
            radius_update_every=hp["radius_update_every"],
            radius_warmup_epochs=hp["radius_warmup_epochs"],
        )
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
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
                step = bp_step(net, targets, opt)
            self.n_steps = run_loop(step, targets, x, cfg, shuffle_gen)
            self._net, self._targets = net, targets
            self._scale = None
            if hp["score_layers"] == "sum":
                # in training-sized batches, so this pass never outgrows a training step
                train_scores = layer_scores(net, targets, x, hp["batch_size"])
                self._scale = train_scores.abs().mean(0).clamp_min(1e-12)
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores, float64 (N,), higher = more anomalous."""
        if self._net is None:
            raise RuntimeError("OneClassDetector is not fitted: call fit first")
        x = self._tensor(X, fitting=False)
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            scores = layer_scores(self._net, self._targets, x, self._eval_batch)
        s = (scores / self._scale).sum(1) if self._scale is not None else scores[:, -1]
        return s.cpu().numpy().astype(np.float64)

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
            return build_mlp(shape[0], hp["widths"], hp["bias"], hp["leaky_slope"], gen)
        channels, rep_dim = _CNN_GREY if shape[0] == 1 else _CNN_COLOUR
        if hp["channels"] is None:
            hp["channels"] = list(channels)
        if hp["rep_dim"] is None:
            hp["rep_dim"] = rep_dim
        c, h, w = shape
        return build_cnn(
            (c, h, w), hp["channels"], hp["rep_dim"], hp["bias"], hp["leaky_slope"], gen
        )

    def _tensor(self, X: np.ndarray, fitting: bool) -> Tensor:
        """Checked float32 tensor on the detector's device."""
        a = np.asarray(X)
        want = 2 if self.arch == "mlp" else 4
        layout = "(N, d)" if self.arch == "mlp" else "(N, C, H, W)"
        if a.ndim != want:
            raise ValueError(f"{self.arch} expects X of shape {layout}; got ndim={a.ndim}")
        if a.shape[0] == 0 or math.prod(a.shape[1:]) == 0:
            raise ValueError(f"X is empty (shape {a.shape})")
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise ValueError(f"X must be real-valued numeric, got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError("X contains NaN or infinite values")
        if fitting:
            self._in_shape = tuple(a.shape[1:])
        elif tuple(a.shape[1:]) != self._in_shape:
            raise ValueError(f"X has sample shape {a.shape[1:]}; fit saw {self._in_shape}")
        return torch.as_tensor(a, dtype=torch.float32).to(self.device)
