"""PyOD detectors behind the project's detector contract."""

from __future__ import annotations

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


def pyod_defaults(estimator: type) -> dict[str, Any]:
    """The estimator's own keyword defaults (JSON-able ones), minus what the wrapper sets."""
    params = inspect.signature(estimator.__init__).parameters
    return {
        k: _jsonable(p.default)
        for k, p in params.items()
        if k != "self" and k not in SET_BY_WRAPPER and p.default is not inspect.Parameter.empty
    }


class PyODDetector:
    """Wrap a PyOD estimator class: ``fit`` on normals, ``score_samples`` = ``decision_function``.

    ``seed`` goes to ``random_state`` and ``device`` to ``device`` where the class takes them;
    ``hparams`` is the estimator's full ``get_params()`` after construction.
    """

    def __init__(self, estimator: type, seed: int = 0, device: str = "cpu", **hparams: Any):
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
