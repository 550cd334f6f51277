"""What every contract check (:mod:`bench.checks`, :mod:`bench.stream_checks`) shares: the
error naming a broken rule, the synthetic problems, building a detector as a trial does, and
the rules batch and stream detectors have in common."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

#: The tabular problem: normals a tight cluster near the origin (centre norm 0.2, spread 0.05),
#: anomalies the same cluster ten times as far on the opposite side; ``D`` features.
D, CENTRE, SPREAD, ANOMALY_AT = 6, 0.2, 0.05, -10.0
N_TRAIN, N_NORMAL, N_ANOMALY = 128, 48, 16


class ContractError(AssertionError):
    """A broken rule of the detector contract (an ``AssertionError``, as in a test)."""


def fail(spec: Any, rule: str, detail: str) -> ContractError:
    """The error for ``spec`` breaking ``rule``, with what was seen."""
    return ContractError(f"detector {spec.name!r} breaks the contract: {rule} ({detail})")


def attempt(spec: Any, rule: str, call: Callable[[], Any]) -> Any:
    """``call()``, or :func:`fail` with what it raised."""
    try:
        return call()
    except ContractError:
        raise
    except Exception as exc:
        raise fail(spec, rule, f"raised {type(exc).__name__}: {exc}") from exc


def build(spec: Any, hparams: dict[str, Any], seed: int, device: str) -> Any:
    """The detector as a trial builds it: global RNGs seeded first."""
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return attempt(
        spec, "it builds from its hyperparameters", lambda: spec.build(seed, device, hparams)
    )


def cluster(n: int, at: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of the tabular problem's cluster at ``at`` times the normals' centre."""
    centre = np.full(D, CENTRE / np.sqrt(D))
    return at * centre + SPREAD * rng.standard_normal((n, D))


def tabular_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training normals, test rows (normals, then anomalies) and test labels (1 = anomaly)."""
    X_test = np.vstack([cluster(N_NORMAL, 1.0, rng), cluster(N_ANOMALY, ANOMALY_AT, rng)])
    return cluster(N_TRAIN, 1.0, rng), X_test, np.r_[np.zeros(N_NORMAL), np.ones(N_ANOMALY)]


def image_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey 28 x 28 images of a 7 x 7 noise pattern (4 x 4 pixels a cell): normals, and
    anomalies with a bright 8 x 8 patch (+6) near a corner."""

    def images(n: int) -> np.ndarray:
        return rng.standard_normal((n, 1, 7, 7)).repeat(4, axis=2).repeat(4, axis=3)

    anomalies = images(N_ANOMALY // 2)
    anomalies[:, :, 4:12, 4:12] += 6.0
    X_test = np.vstack([images(N_NORMAL // 2), anomalies])
    y = np.r_[np.zeros(N_NORMAL // 2), np.ones(N_ANOMALY // 2)]
    return images(N_TRAIN // 2), X_test, y


def scores(spec: Any, values: Any, n: int, what: str) -> np.ndarray:
    """``values`` as float64 (n,), or :func:`fail` unless they are one finite float per row."""
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,):
        raise fail(spec, f"{what} gives one score per row", f"shape {out.shape} for {n} rows")
    if not np.isfinite(out).all():
        raise fail(spec, f"{what} gives finite scores", f"{int((~np.isfinite(out)).sum())} are not")
    return out


def separates(spec: Any, y: np.ndarray, s: np.ndarray, problem: str) -> None:
    gap = s[y == 1].mean() - s[y == 0].mean()
    if not gap > 0:
        raise fail(
            spec,
            "higher scores mean more anomalous",
            f"{problem}: anomalies' mean score {s[y == 1].mean():.4g} is not above normals' "
            f"{s[y == 0].mean():.4g}",
        )


def same_hparams(spec: Any, detector: Any, hparams: dict[str, Any]) -> None:
    """``detector.hparams`` is a dict holding ``hparams`` (a None may be filled in)."""
    held = getattr(detector, "hparams", None)
    if not isinstance(held, dict):
        raise fail(spec, "hparams is a dict", f"got {type(held).__name__}")
    plain = lambda v: json.loads(json.dumps(v, default=str))  # noqa: E731 - tuples, numpy
    wrong = {
        k: held.get(k, "<missing>")
        for k, v in hparams.items()
        if v is not None and (k not in held or plain(held[k]) != plain(v))
    }
    if wrong:
        raise fail(spec, "hparams holds the values it ran with", f"differs: {wrong}")


def raises(spec: Any, rule: str, call: Callable[[], Any], kind: type[Exception]) -> None:
    try:
        call()
    except kind:
        return
    except Exception as exc:
        raise fail(spec, rule, f"raised {type(exc).__name__}: {exc}") from exc
    raise fail(spec, rule, "nothing was raised")
