"""The base of the network detectors (PyOD's ``base_dl.py`` pattern).

:class:`NetworkDetector` holds what every network detector does alike: torch generators
derived from the seed (always consumed in the same order), the device, the checked float32
input tensor and the sample shape the network was fitted on, a clock synchronised with the
device and the parameter count. :class:`BatchDetector` adds the template of batch training:
``build`` ahead of ``fit`` (so a memory meter around ``fit`` leaves out the parameters'
allocation), ``fit`` timed by phase, the calibration of every layer's objective and of the
``sum`` rule's scales, and ``score_rules`` / ``score_samples`` (every rule of :func:`rules`).
A batch detector writes only ``_build`` (its network), ``_train`` (its optimizer steps) and
``_objective``.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ff.networks import LayerStack
from ff.objectives import Objective
from ff.training import History, Targets, fit_after_training, layer_scores


def checked_tensor(
    X: np.ndarray, arch: str, device: torch.device, fitted_shape: tuple[int, ...] | None
) -> Tensor:
    """``X`` as a float32 tensor on ``device`` after checking layout, emptiness and values.

    ``fitted_shape`` is the sample shape seen by ``fit`` (None while fitting).
    """
    a = np.asarray(X)
    want = 2 if arch == "mlp" else 4
    if a.ndim != want:
        layout = "(N, d)" if arch == "mlp" else "(N, C, H, W)"
        raise ValueError(f"{arch} expects X of shape {layout}; got ndim={a.ndim}")
    if a.shape[0] == 0 or math.prod(a.shape[1:]) == 0:
        raise ValueError(f"X is empty (shape {a.shape})")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"X must be real-valued numeric, got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("X contains NaN or infinite values")
    if fitted_shape is not None and tuple(a.shape[1:]) != fitted_shape:
        raise ValueError(f"X has sample shape {a.shape[1:]}; fit saw {fitted_shape}")
    return torch.as_tensor(a, dtype=torch.float32).to(device)


def clock(device: torch.device) -> float:
    """``perf_counter`` after the device's queued work (CUDA) has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


@dataclass(frozen=True)
class Calibration:
    """Each layer's score distribution on the training normals: its sorted values (L, N) and
    its mean and standard deviation (L,), for the calibrated rules of :func:`rules`."""

    ordered: Tensor
    mean: Tensor
    std: Tensor

    @classmethod
    def of(cls, train_scores: Tensor) -> Calibration:
        """From the training normals' per-layer scores (N, L)."""
        columns = train_scores.T.contiguous()
        return cls(
            columns.sort(1).values,
            columns.mean(1),
            columns.std(1, unbiased=False).clamp_min(1e-12),
        )

    def cdf(self, scores: Tensor) -> Tensor:
        """(N, L): per layer, the share of training normals whose score is <= each score."""
        below = torch.searchsorted(self.ordered, scores.T.contiguous(), right=True)
        return (below.double() / self.ordered.shape[1]).T


def rules(
    scores: Tensor, scale: Tensor, calibration: Calibration | None = None
) -> dict[str, np.ndarray]:
    """Every scoring rule from per-layer scores (N, L): ``last``, ``sum`` (each layer divided
    by its ``scale``, the mean absolute training score), with a ``calibration`` the calibrated
    rules ``zsum`` (each layer z-scored against its training normals' scores, summed),
    ``rank`` and ``rankmax`` (the sum and the max over layers of each score's empirical CDF
    value among the training normals' scores), then ``layer1`` ... ``layerL``."""
    cols = scores.cpu().numpy().astype(np.float64)
    out = {"last": cols[:, -1], "sum": (scores / scale).sum(1).cpu().numpy()}
    if calibration is not None:
        z = (scores - calibration.mean) / calibration.std
        cdf = calibration.cdf(scores)
        out["zsum"] = z.sum(1).cpu().numpy()
        out["rank"] = cdf.sum(1).cpu().numpy()
        out["rankmax"] = cdf.max(1).values.cpu().numpy()
    out |= {f"layer{k + 1}": cols[:, k] for k in range(cols.shape[1])}
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def check_known(defaults: dict[str, Any], given: dict[str, Any], where: str = "") -> None:
    """Refuse hyperparameters ``defaults`` lacks (``where`` names the detector)."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown}{where}; valid: {sorted(defaults)}")


def deterministic() -> AbstractContextManager[None]:
    """cuDNN on, deterministic, without benchmark autotuning (no effect on the CPU)."""
    return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True)


class Phases:
    """Seconds per phase, each measured from the end of the one before (:func:`clock`)."""

    def __init__(self, device: torch.device):
        self.device, self.seconds, self._last = device, {}, clock(device)

    def end(self, phase: str) -> None:
        now = clock(self.device)
        self.seconds[phase] = now - self._last
        self._last = now


class NetworkDetector:
    """Seed, device, checked inputs, clock and parameter count of a network detector."""

    arch: str  # "mlp" (rows) or "cnn" (images)
    n_generators = 1  # generators drawn from the seed, in a fixed order: (init, ...)
    _net_set_by = "build"  # the call that creates the network (for n_params' error)

    def __init__(self, seed: int, device: str, hparams: dict[str, Any]):
        self.seed, self.device = int(seed), torch.device(device)
        self.hparams: dict[str, Any] = hparams
        self.n_steps = 0
        self._net: LayerStack | None = None
        self._targets: Targets = {}
        self._scale: Tensor | None = None
        self._in_shape: tuple[int, ...] = ()

    @property
    def n_params(self) -> int:
        """Trainable parameters of the network (an autoencoder's decoder not counted)."""
        if self._net is None:
            raise RuntimeError(f"n_params is known after {self._net_set_by}")
        return sum(p.numel() for p in self._net.parameters() if p.requires_grad)

    def _generators(self) -> tuple[torch.Generator, ...]:
        """Fresh generators derived from the seed: ``n_generators`` of them, init first."""
        states = np.random.SeedSequence(self.seed).generate_state(self.n_generators)
        return tuple(torch.Generator().manual_seed(int(s)) for s in states)

    def _clock(self) -> float:
        return clock(self.device)

    def _tensor(self, X: np.ndarray, fitting: bool) -> Tensor:
        """Checked float32 tensor on the detector's device (fitting records the sample shape)."""
        x = checked_tensor(X, self.arch, self.device, None if fitting else self._in_shape)
        if fitting:
            self._in_shape = tuple(x.shape[1:])
        return x


class BatchDetector(NetworkDetector):
    """A network trained on a whole training set: ``build``, ``fit``, ``score_rules``.

    Every layer without a trained objective gets one fitted after training on the training
    normals (``ff.training.fit_after_training``), so every network is scored under every rule.
    """

    n_generators = 2  # (init, shuffle, ...)
    _net_set_by = "fit (the input size sets the first layer)"

    def __init__(self, seed: int, device: str, hparams: dict[str, Any]):
        super().__init__(seed, device, hparams)
        self.phase_seconds: dict[str, float] = {}
        self.history: History = {}  # per-epoch training curves, see ff.training.run_loop
        self.centre_eps_share: dict[str, float] = {}  # per trained SVDD layer
        self._built: tuple[tuple[int, ...], Any] | None = None
        self._train_scores: Tensor | None = None  # (N, L), kept from fit for the calibration
        self._calibration: Calibration | None = None  # derived when first scoring

    # ---- what a subclass writes -------------------------------------------------------------
    def _build(self, shape: tuple[int, ...], gen: torch.Generator) -> Any:
        """The initial model (network, and what else it trains) on the device."""
        raise NotImplementedError

    def _train(
        self, model: Any, x: Tensor, gens: tuple[torch.Generator, ...], phases: Phases
    ) -> tuple[LayerStack, Targets]:
        """The optimizer steps (``gens``: the seed's generators after init); returns the
        network and the objectives it trained, by layer. Ends any phase before ``train``."""
        raise NotImplementedError

    def _objective(self) -> Objective:
        """A fresh objective of the detector's kind."""
        raise NotImplementedError

    # ---- the template -------------------------------------------------------------------------
    def build(self, sample_shape: tuple[int, ...]) -> Any:
        """Build the initial model for samples of ``sample_shape`` ahead of ``fit``.

        Optional: lets a memory meter around ``fit`` exclude the parameters' allocation. The
        next ``fit`` on data of that shape trains this model (same weights as building it
        inside ``fit``); any other fit builds afresh.
        """
        shape = tuple(int(n) for n in sample_shape)
        self._built = shape, self._build(shape, self._generators()[0])
        return self

    def fit(self, X: np.ndarray) -> Any:
        """Train on normal samples ``X`` ((N, d) for the MLP, (N, C, H, W) for the CNN).

        Phases timed apart in :attr:`phase_seconds`: the subclass's (``train``, and any
        before it), then ``calibrate`` (fitting untrained layers' objectives and the ``sum``
        rule's scales, in training-sized batches, so it never outgrows a training step).
        """
        x = self._tensor(X, fitting=True)
        init_gen, *gens = self._generators()
        shape = tuple(x.shape[1:])
        built, self._built = self._built, None
        if built is not None and built[0] == shape:
            model = built[1]
        else:
            model = self._build(shape, init_gen)
        self.history = {}
        with deterministic():
            phases = Phases(self.device)
            net, trained = self._train(model, x, tuple(gens), phases)
            phases.end("train")
            batch = self.hparams["batch_size"]
            later = {k: self._objective() for k in range(len(net.layers)) if k not in trained}
            fit_after_training(net, later, x, batch)
            targets = dict(sorted({**trained, **later}.items()))
            train_scores = layer_scores(net, targets, x, batch)
            self._scale = train_scores.abs().mean(0).clamp_min(1e-12)
            self._train_scores, self._calibration = train_scores, None
            self._net, self._targets = net, targets
            phases.end("calibrate")
            self.phase_seconds = phases.seconds
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores under the declared rule (``score_layers``), float64 (N,)."""
        return self.score_rules(X)[self.hparams["score_layers"]]

    def score_rules(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Scores under every rule from one pass (:func:`rules`): ``last``, ``sum``, ``zsum``,
        ``rank``, ``rankmax``, ``layer1`` ... ``layerL``.

        The calibrated rules' statistics are derived from the training normals' scores kept by
        ``fit`` on the first call, not in ``fit``: a memory meter around ``fit`` sees training
        and calibration only."""
        if self._net is None or self._scale is None or self._train_scores is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit first")
        x = self._tensor(X, fitting=False)
        if self._calibration is None:
            self._calibration = Calibration.of(self._train_scores)
        with deterministic():
            scores = layer_scores(self._net, self._targets, x, self._eval_batch)
        return rules(scores, self._scale, self._calibration)

    def train_rules(self) -> dict[str, np.ndarray]:
        """Every rule's scores of the training normals, from the per-layer scores ``fit``
        kept (no forward pass)."""
        if self._scale is None or self._train_scores is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit first")
        if self._calibration is None:
            self._calibration = Calibration.of(self._train_scores)
        return rules(self._train_scores, self._scale, self._calibration)

    @property
    def _eval_batch(self) -> int:
        return max(self.hparams["batch_size"], 1024 if self.arch == "mlp" else 256)
