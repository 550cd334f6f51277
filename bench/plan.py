"""Plan a sweep: every trial to run and every pair skipped, with each ``--param`` checked
against each selected detector before anything runs (no torch, PyOD or MLflow needed)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.detectors import DETECTORS
from bench.suites import Suite
from bench.trial import Trial


@dataclass(frozen=True)
class Skip:
    detector: str
    dataset: str
    reason: str


@dataclass
class Plan:
    trials: list[Trial]
    skipped: list[Skip]


def plan_sweep(
    detectors: Iterable[str],
    dataset_names: Iterable[str],
    suite: Suite,
    seeds: Iterable[int],
    overrides: Mapping[str, Any],
    points: Mapping[str, list[dict[str, Any]]] | None = None,
) -> Plan:
    """Every (detector, dataset, normal class, seed, grid point) that can run; the rest skipped.

    ``overrides`` and the suite's grid apply to the detectors that have those
    hyperparameters; an override no selected detector knows is an error. ``points`` (a
    sweep file's, :mod:`bench.sweepfile`) gives a detector's list of hyperparameter points,
    one trial each, applied over the suite's grid and under ``overrides``.
    """
    from datasets import DATASETS

    detectors, dataset_names, seeds = list(detectors), list(dataset_names), list(seeds)
    specs = [DETECTORS.get(d) for d in detectors]
    unknown = [k for k in overrides if not any(k in s.defaults for s in specs)]
    if unknown:
        raise ValueError(f"no selected detector has hyperparameter(s) {unknown}")
    check_hparams(specs, overrides, suite.grid)
    trials: list[Trial] = []
    skipped: list[Skip] = []
    for name in dataset_names:
        data = DATASETS.get(name)
        runnable = []
        for spec in specs:
            reason = spec.accepts(data.kind) or suite.skip_reason(spec.name, name)
            if reason:
                skipped.append(Skip(spec.name, name, reason))
                continue
            hps: list[dict[str, Any]] = []
            for point in suite.grid:
                for extra in (points or {}).get(spec.name, [{}]):
                    merged = {**point, **extra, **overrides}
                    hp = spec.resolve({k: v for k, v in merged.items() if k in spec.defaults})
                    if hp not in hps:
                        hps.append(hp)
            runnable.append((spec, hps))
        for normal_class in data.normal_classes:  # every detector on one split in turn
            for seed in seeds:
                for spec, hps in runnable:  # not ``points``: that is the sweep file's
                    for hp in hps:
                        trials.append(
                            Trial(
                                spec.name,
                                name,
                                normal_class,
                                seed,
                                hp,
                                spec.version,
                                suite.name,
                                dataset_version=data.version,
                            )
                        )
    return Plan(trials, skipped)


#: Hyperparameters that must be positive numbers / positive integers in every detector.
POSITIVE = ("lr", "learning_rate")
POSITIVE_INT = ("epochs", "epoch_num", "n_epochs", "batch_size")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _wanted(key: str, value: Any, default: Any, strict: bool) -> str | None:
    """What ``value`` should be for a hyperparameter whose default is ``default``, or None
    when it will do. ``strict``: the default's type is the only type (not so for PyOD, whose
    keywords often take several: ``n_bins=10`` or ``"auto"``)."""
    if key in POSITIVE and not (_is_number(value) and value > 0):
        return "a positive number"
    if key in POSITIVE_INT and not (_is_int(value) and value >= 1):
        return "a positive integer"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if _is_number(default) and isinstance(value, bool):
        return "a number, not true/false"
    if not strict or default is None:
        return None
    if _is_int(default) and not _is_int(value):
        return "an integer"
    if isinstance(default, float) and not _is_number(value):
        return "a number"
    if isinstance(default, str) and not isinstance(value, str):
        return "a string"
    if isinstance(default, list):
        if not isinstance(value, list) or not value:
            return "a non-empty list"
        if default and _is_int(default[0]) and not all(_is_int(v) for v in value):
            return "a list of integers"
    return None


def hparam_problem(spec: Any, key: str, value: Any) -> str | None:
    """Why ``spec`` cannot take ``value`` for ``key`` (by type against its default), or None."""
    wanted = _wanted(key, value, spec.defaults[key], spec.family != "pyod")
    if wanted:
        return f"{spec.name} needs {wanted} (default {json.dumps(spec.defaults[key])})"
    return None


def check_hparams(
    specs: list[Any], overrides: Mapping[str, Any], grid: Iterable[Mapping[str, Any]]
) -> None:
    """Refuse, before anything runs, a value that a selected detector cannot take: its type
    against the detector's default, then the detector's own checks (it is built, not fitted).
    Raises ``ValueError`` naming the parameter and the detector."""
    for spec in specs:
        for key, value in overrides.items():
            problem = hparam_problem(spec, key, value) if key in spec.defaults else None
            if problem:
                raise ValueError(f"--param {key}={json.dumps(value)}: {problem}")
        for point in grid:
            known = {k: v for k, v in {**point, **overrides}.items() if k in spec.defaults}
            try:
                spec.validate(spec.resolve(known))
            except (ValueError, TypeError) as exc:
                given = " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items())
                raise ValueError(f"--param {given}: {spec.name} refuses it: {exc}") from None
