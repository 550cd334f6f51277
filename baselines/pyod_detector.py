"""PyOD detectors behind the project's detector contract."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from typing import Any

import numpy as np


def _as_table(X: np.ndarray, name: str) -> np.ndarray:
    """Flatten images to rows and refuse input PyOD would silently mishandle."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D (or image) array, got shape {X.shape}")
    X = X.reshape(len(X), -1)
    if not np.isfinite(X).all():
        raise ValueError(f"{name}: input has NaN or infinite values; clean the data first")
    return X


def _jsonable(value: Any) -> Any:
    """Hyperparameter values as plain JSON types (``repr`` for anything exotic)."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


SET_BY_WRAPPER = ("random_state", "device", "verbose", "n_features")

#: PyOD's own keyword defaults (JSON-able ones, less what the wrapper sets) of the estimators
#: the registry wraps, by ``"<module of pyod.models>:<class>"``: written out so the registry
#: loads without PyOD (and the torch it imports); a test checks them against the installed
#: PyOD's signatures (:func:`pyod_defaults`).
PYOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "ocsvm:OCSVM": {
        "kernel": "rbf",
        "degree": 3,
        "gamma": "auto",
        "coef0": 0.0,
        "tol": 0.001,
        "nu": 0.5,
        "shrinking": True,
        "cache_size": 200,
        "max_iter": -1,
        "contamination": 0.1,
    },
    "iforest:IForest": {
        "n_estimators": 100,
        "max_samples": "auto",
        "contamination": 0.1,
        "max_features": 1.0,
        "bootstrap": False,
        "n_jobs": 1,
        "behaviour": "old",
    },
    "knn:KNN": {
        "contamination": 0.1,
        "n_neighbors": 5,
        "method": "largest",
        "radius": 1.0,
        "algorithm": "auto",
        "leaf_size": 30,
        "metric": "minkowski",
        "p": 2,
        "metric_params": None,
        "n_jobs": 1,
    },
    "lof:LOF": {
        "n_neighbors": 20,
        "algorithm": "auto",
        "leaf_size": 30,
        "metric": "minkowski",
        "p": 2,
        "metric_params": None,
        "contamination": 0.1,
        "n_jobs": 1,
        "novelty": True,
    },
    "ecod:ECOD": {"contamination": 0.1, "n_jobs": 1},
    "copod:COPOD": {"contamination": 0.1, "n_jobs": 1},
    "hbos:HBOS": {"n_bins": 10, "alpha": 0.1, "tol": 0.5, "contamination": 0.1},
    "pca:PCA": {
        "n_components": None,
        "n_selected_components": None,
        "contamination": 0.1,
        "copy": True,
        "whiten": False,
        "svd_solver": "auto",
        "tol": 0.0,
        "iterated_power": "auto",
        "weighted": True,
        "standardization": True,
    },
    "auto_encoder:AutoEncoder": {
        "contamination": 0.1,
        "preprocessing": True,
        "lr": 0.001,
        "epoch_num": 10,
        "batch_size": 32,
        "optimizer_name": "adam",
        "use_compile": False,
        "compile_mode": "default",
        "optimizer_params": {"weight_decay": 1e-05},
        "hidden_neuron_list": [64, 32],
        "hidden_activation_name": "relu",
        "batch_norm": True,
        "dropout_rate": 0.2,
    },
    "deep_svdd:DeepSVDD": {
        "c": None,
        "use_ae": False,
        "hidden_neurons": None,
        "hidden_activation": "relu",
        "output_activation": "sigmoid",
        "optimizer": "adam",
        "epochs": 100,
        "batch_size": 32,
        "dropout_rate": 0.2,
        "l2_regularizer": 5e-07,
        "validation_size": 0.1,
        "preprocessing": True,
        "contamination": 0.1,
        "learning_rate": 0.0001,
    },
}


def estimator_class(model: str) -> type:
    """The PyOD class named ``"<module of pyod.models>:<class>"`` (PyOD is imported here)."""
    module, _, name = model.partition(":")
    return getattr(importlib.import_module(f"pyod.models.{module}"), name)


def model_defaults(model: str) -> dict[str, Any]:
    """A copy of ``model``'s written-out defaults (:data:`PYOD_DEFAULTS`)."""
    return copy.deepcopy(PYOD_DEFAULTS[model])


def pyod_defaults(estimator: type) -> dict[str, Any]:
    """The estimator's own keyword defaults (JSON-able ones), minus what the wrapper sets."""
    params = inspect.signature(estimator.__init__).parameters
    return {
        k: _jsonable(p.default)
        for k, p in params.items()
        if k != "self" and k not in SET_BY_WRAPPER and p.default is not inspect.Parameter.empty
    }


class PyODDetector:
    """Wrap a PyOD estimator class (or its ``"module:Class"`` name): ``fit`` on normals,
    ``score_samples`` = ``decision_function``.

    ``seed`` goes to ``random_state`` and ``device`` to ``device`` where the class takes them;
    ``hparams`` is the estimator's full ``get_params()`` after construction.
    """

    def __init__(self, estimator: type | str, seed: int = 0, device: str = "cpu", **hparams: Any):
        if isinstance(estimator, str):
            estimator = estimator_class(estimator)
        accepted = inspect.signature(estimator.__init__).parameters
        unknown = sorted(set(hparams) - set(accepted))
        if unknown:
            raise ValueError(
                f"{estimator.__name__} takes no hyperparameter(s) {unknown}; "
                f"valid: {sorted(k for k in accepted if k != 'self')}"
            )
        for key, value in (("random_state", seed), ("device", device), ("verbose", 0)):
            if key in accepted:
                hparams.setdefault(key, value)
        self.estimator = estimator
        self.name = estimator.__name__
        self.model: Any = None
        self._kwargs = hparams
        self._sized = "n_features" in accepted  # PyOD's DeepSVDD sizes its network up front
        self.hparams = {**pyod_defaults(estimator), **{k: _jsonable(v) for k, v in hparams.items()}}

    def fit(self, X: np.ndarray) -> PyODDetector:
        X = _as_table(X, self.name)
        kwargs = dict(self._kwargs)
        if self._sized:
            kwargs["n_features"] = X.shape[1]
        self.model = self.estimator(**kwargs)
        self.model.fit(X)
        self.hparams = {k: _jsonable(v) for k, v in self.model.get_params(deep=False).items()}
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(f"{self.name}: call fit before score_samples")
        return np.asarray(self.model.decision_function(_as_table(X, self.name)), dtype=np.float64)
