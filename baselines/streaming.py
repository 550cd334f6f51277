"""Streaming baselines from river behind the stream contract of ``bench.prequential``.

A stream detector has ``start(X_warmup)`` (initialise from the warm-up samples) and
``score_learn(X_batch) -> {"score": scores}`` (score every row of the batch with the model as
it stands, then learn them), and ``seconds`` (cumulative ``score`` and ``update`` time).

river (https://riverml.xyz) is the maintained online-learning library: its detectors are
incremental by design (``score_one`` / ``learn_one``), seeded, and cover four different
families: half-space trees (mass estimation), a one-class SVM trained by SGD, local outlier
factor over a sliding window, and LODA (random projections and histograms). Each keeps
river's own defaults, except the LOF's window (below). Inputs are z-scored with the warm-up
statistics by the runner; the pipelines river's documentation recommends are kept on top
(an online MinMax scaler before half-space trees, whose cuts assume [0, 1] features; random
Fourier features before the linear one-class SVM).

Orientation: river's ``OneClassSVM.score_one`` is the SVM's decision value ``w.x - b`` (it
learns every sample as the positive class, so it is high inside the learned region, like
scikit-learn's ``decision_function``); its negation is the anomaly score here (as PyOD
negates scikit-learn's). The others' ``score_one`` is already higher = more anomalous.
river's half-space trees score only after their first full window (``window_size``, 250 by
default): streams shorter than that get constant scores (AUROC 0.5), reported as measured.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: the LOF's sliding window (river's LazySearch engine; river's default of 1000 makes a score
#: cost O(window x neighbours) Python-level distance computations: too slow for the suite)
LOF_WINDOW = 250


def _models() -> dict[str, tuple[type, Callable[[int], list[Any]], str]]:
    try:
        from river import anomaly, feature_extraction, preprocessing
    except ImportError:
        raise ValueError(
            "the river-* stream baselines need river: pip install -e '.[stream]'"
        ) from None

    return {
        "hst": (
            anomaly.HalfSpaceTrees,
            lambda seed: [preprocessing.MinMaxScaler()],
            "half-space trees (online MinMax scaler in front)",
        ),
        "ocsvm": (
            anomaly.OneClassSVM,
            lambda seed: [feature_extraction.RBFSampler(seed=seed)],
            "one-class SVM by SGD on random Fourier features",
        ),
        "lof": (
            anomaly.LocalOutlierFactor,
            lambda seed: [],
            f"local outlier factor over a sliding window of {LOF_WINDOW} samples",
        ),
        "loda": (anomaly.LODA, lambda seed: [], "LODA: random projections and histograms"),
    }


RIVER_MODELS = ("hst", "ocsvm", "lof", "loda")
#: river's own keyword defaults (plain values; ``seed`` is the trial's), written out so the
#: registry loads without river (an optional extra); a test checks them against river's
#: signatures.
RIVER_DEFAULTS: dict[str, dict[str, Any]] = {
    "hst": {"n_trees": 10, "height": 8, "window_size": 250},
    "ocsvm": {"nu": 0.1, "intercept_lr": 0.01, "clip_gradient": 1e12},
    "lof": {"n_neighbors": 10},
    "loda": {"n_bins": 10, "n_random_cuts": 100},
}
DESCRIPTIONS = {
    "hst": "half-space trees (online MinMax scaler in front)",
    "ocsvm": "one-class SVM by SGD on random Fourier features",
    "lof": f"local outlier factor over a sliding window of {LOF_WINDOW} samples",
    "loda": "LODA: random projections and histograms",
}
_SIMPLE = (int, float, str, bool)


def signature_defaults(name: str) -> dict[str, Any]:
    """The installed river estimator's plain keyword defaults (``seed`` left out)."""
    params = inspect.signature(_models()[name][0]).parameters
    return {
        k: p.default for k, p in params.items() if k != "seed" and isinstance(p.default, _SIMPLE)
    }


def river_defaults(name: str) -> dict[str, Any]:
    """The hyperparameters of ``river-<name>``: river's defaults (and the LOF's window)."""
    hp = dict(RIVER_DEFAULTS[name])
    if name == "lof":
        hp["window_size"] = LOF_WINDOW
    return hp


def river_description(name: str) -> str:
    return "river " + DESCRIPTIONS[name]


class RiverStreamDetector:
    """A river anomaly detector on a stream; ``hparams`` = the estimator's keywords plus the
    protocol's ``batch_size`` and ``warmup`` (read by the runner)."""

    def __init__(self, name: str, seed: int = 0, device: str = "cpu", **hparams: Any):
        cls, pre, _ = _models()[name]
        known = {**river_defaults(name), "batch_size": None, "warmup": None}
        unknown = sorted(set(hparams) - set(known))
        if unknown:
            raise ValueError(
                f"river-{name} has no hyperparameter(s) {unknown}; known: {sorted(known)}"
            )
        kwargs = {k: v for k, v in hparams.items() if k not in ("batch_size", "warmup")}
        if name == "lof":
            from river import neighbors

            window = kwargs.pop("window_size", LOF_WINDOW)
            kwargs["engine"] = neighbors.LazySearch(window_size=window)
        if "seed" in inspect.signature(cls).parameters:
            kwargs["seed"] = seed
        self._sign = -1.0 if name == "ocsvm" else 1.0  # decision value -> anomaly score
        model: Any = cls(**kwargs)
        for step in reversed(pre(seed)):
            model = step | model
        self.name, self.model = f"river-{name}", model
        self.hparams = {**river_defaults(name), **hparams}
        self.seconds = {"score": 0.0, "update": 0.0}

    def start(self, X: np.ndarray) -> None:
        """Learn the warm-up samples (river detectors initialise by learning)."""
        for row in _rows(X):
            self.model.learn_one(row)

    def score_learn(self, X: np.ndarray) -> dict[str, np.ndarray]:
        rows = _rows(X)
        t0 = time.perf_counter()
        scores = self._sign * np.array([self.model.score_one(row) for row in rows], dtype=float)
        t1 = time.perf_counter()
        for row in rows:
            self.model.learn_one(row)
        self.seconds["score"] += t1 - t0
        self.seconds["update"] += time.perf_counter() - t1
        return {"score": scores}


def _rows(X: np.ndarray) -> list[dict[int, float]]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"expected a non-empty batch of rows (N, d), got shape {X.shape}")
    return [dict(enumerate(row)) for row in X.tolist()]
