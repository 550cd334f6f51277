"""Checks and scoring helpers shared by the network detectors (``ff.detector``, ``ff.deepsvdd``)."""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import Tensor


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


def rules(scores: Tensor, scale: Tensor) -> dict[str, np.ndarray]:
    """Every scoring rule from per-layer scores (N, L): ``last``, ``sum`` (each layer divided
    by its ``scale``, the mean absolute training score), ``layer1`` ... ``layerL``."""
    cols = scores.cpu().numpy().astype(np.float64)
    out = {"last": cols[:, -1], "sum": (scores / scale).sum(1).cpu().numpy()}
    out |= {f"layer{k + 1}": cols[:, k] for k in range(cols.shape[1])}
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
