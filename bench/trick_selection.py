"""Stage 2 of the label-free selection (issue 22, item 3): the deep one-class literature's
tricks (:mod:`ff.tricks`), each tried alone on top of the stage-1 choice
(:mod:`bench.selection`) and of the default configuration, for FF and its same-loss twin.

A trick is **kept only where it helps beyond noise, for FF and its twin together**: its gain
is its criterion minus the stage-1 choice's, on the same problems and seed, averaged over the
families; it must exceed the **margin**, the largest change of a stage-1 choice's criterion
when only the network seed changes (:data:`RESEEDS`; same problems, same rule). The best such
trick is applied to every family (each keeps its own best rule), so FF and its twin stay the
same network; else every family keeps its stage-1 choice. Rows on the default configuration
are reported, never chosen. Like stage 1 it reads the tuning splits' ``X_train`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from bench.detectors import DETECTORS
from bench.selection import Problem, problems, rank
from datasets.split import Split

# Each trick changes a few hyperparameters of a base; "wide" / "deep" keep the base's optimizer
# and step budget. A trick equal to the detector's default (no-bias on the bias-free SVDD
# layers) is not tried. Time box: every trick on top of the stage-1 choice, and the cheap ones
# (not the widths) on top of the default configuration.
TRICKS: dict[str, dict[str, Any]] = {
    "tanh": {"activation": "tanh"},
    "no-bias": {"bias": False},
    "pretrain": {"pretrain": "autoencoder"},
    "ensemble-3": {"ensemble": 3},
    "wide": {"widths": [2048, 1024]},  # [2048] alone would be a linear map (no activation)
    "deep": {"widths": [1024, 1024, 1024]},
}
WIDTH_TRICKS = ("wide", "deep")  # on the chosen configuration only
RESEEDS = (1, 2)  # network seeds beside the selection's, for the margin
PROCEDURE = (
    "every trick alone on top of the stage-1 choice and (all but the width tricks) of the "
    "default configuration, on the same problems, under every declarable rule; a trick is kept "
    "only when its gain over the stage-1 choice, averaged over FF and its twin, exceeds the "
    "margin (the largest change of a stage-1 choice's criterion when only the network seed "
    f"changes, seeds {', '.join(map(str, RESEEDS))}); the best such trick goes to both families, "
    "so they stay the same network; else both keep stage 1."
)

Rows = dict[str, dict[str, list[dict[str, Any]]]]  # objective -> family -> rows


def trick_grid(
    detector: str, chosen: Mapping[str, Any], default: Mapping[str, Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(base, trick, configuration) rows: each base as it is (trick ``none``), then with each
    trick of :data:`TRICKS` that changes it; bases ``default`` and ``chosen`` (stage 1)."""
    defaults = DETECTORS.get(detector).defaults
    out = []
    for base_name, base in (("default", default), ("chosen", chosen)):
        out.append((base_name, "none", dict(base)))
        for trick, change in TRICKS.items():
            if base_name == "default" and trick in WIDTH_TRICKS:
                continue
            if all({**defaults, **base}.get(k) == v for k, v in change.items()):
                continue
            out.append((base_name, trick, {**base, **change}))
    return out


def _config(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("score_layers", "criterion")}


def trick_rows(
    detector: str,
    record: Mapping[str, Any],
    default: Mapping[str, Any],
    tuning: Mapping[str, Sequence[Problem]],
    seed: int,
    done: Callable[[str], None] | None,
    ranked: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Per row of :func:`trick_grid` its best rule's candidate with ``base``, ``trick`` and
    ``per_set``; a base's row without a trick is its candidate in stage 1's ``ranked`` when
    there, not trained again."""
    found = []
    for base_name, trick, config in trick_grid(detector, _config(record), default):
        known = [c for c in ranked if all(c.get(k) == v for k, v in config.items())]
        if trick == "none" and known:
            found.append({"base": base_name, "trick": trick, **known[0]})
            continue
        top = rank(detector, [config], tuning, seed, done)[0]
        found.append({"base": base_name, "trick": trick, **top.record(), "per_set": top.per_set})
    return found


def reseed_changes(
    detector: str,
    record: Mapping[str, Any],
    tuning: Mapping[str, Sequence[Problem]],
    reference: float,
    done: Callable[[str], None] | None,
    reseeds: Sequence[int] = RESEEDS,
) -> list[float]:
    """How far the criterion of ``record`` (its configuration and rule) moves from
    ``reference`` (its value at the selection's seed) when the network seed is each of
    ``reseeds``, on the same problems."""
    changes = []
    for s in reseeds:
        ranked = rank(detector, [_config(record)], tuning, s, done)
        value = next(c.value for c in ranked if c.rule == record["score_layers"])
        changes.append(round(value - reference, 6))
    return changes


def joint_choice(
    stage1: Mapping[str, Mapping[str, Any]],
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    margin: float,
) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """One objective's choice per family and each trick's gain (module docstring): the
    stage-1 records unless the best trick's mean gain over the families exceeds ``margin``;
    a trick missing for a family is not a candidate."""
    families = list(stage1)
    bases = {f: _row(rows[f], "none") for f in families}
    gains: dict[str, float] = {}
    tricks = [r["trick"] for r in rows[families[0]] if r["base"] == "chosen"]
    for trick in (t for t in tricks if t != "none"):  # in row order: the record's order
        pairs = [(_row(rows[f], trick), bases[f]) for f in families]
        if all(row is not None and base is not None for row, base in pairs):
            diffs = [row["criterion"] - base["criterion"] for row, base in pairs]  # type: ignore[index]
            gains[trick] = round(float(np.mean(diffs)), 6)
    best = max(gains, key=gains.__getitem__, default=None)  # ties: the first in row order
    if best is None or gains[best] <= margin:
        return {f: dict(stage1[f]) for f in families}, gains
    chosen = {}
    for family in families:
        row = _row(rows[family], best)
        chosen[family] = {k: v for k, v in row.items() if k not in ("base", "trick", "per_set")}
    return chosen, gains


def _row(rows: Sequence[Mapping[str, Any]], trick: str) -> Mapping[str, Any] | None:
    return next((r for r in rows if r["base"] == "chosen" and r["trick"] == trick), None)


def select_tricks(
    splits: Iterable[Split],
    stage1: Mapping[str, Mapping[str, Mapping[str, Any]]],
    default: Mapping[str, Any],
    seed: int = 0,
    done: Callable[[str], None] | None = None,
    candidates: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
    reseeds: Sequence[int] = RESEEDS,
) -> dict[str, Any]:
    """Stage 2 over ``stage1`` (per objective and family its ``chosen`` record; with stage 1's
    ranked ``candidates``, a base's row without a trick is not trained again): ``chosen``,
    ``tricks`` (the rows), ``gains`` (per objective and trick) and ``margin`` (its value and
    the reseed changes it came from). Reads the splits' ``X_train`` only."""
    tuning = problems(splits, seed)
    rows: Rows = {}
    changes: dict[str, dict[str, list[float]]] = {}
    for objective, by_family in stage1.items():
        for family, record in by_family.items():
            detector = f"{family}-{objective}-mlp"
            ranked = (candidates or {}).get(objective, {}).get(family, [])
            found = trick_rows(detector, record, default, tuning, seed, done, ranked)
            rows.setdefault(objective, {})[family] = found
            reference = _row(found, "none")["criterion"]  # type: ignore[index]
            moved = reseed_changes(detector, record, tuning, reference, done, reseeds)
            changes.setdefault(objective, {})[family] = moved
    margin = max((abs(c) for by in changes.values() for m in by.values() for c in m), default=0.0)
    chosen, gains = {}, {}
    for objective, by_family in stage1.items():
        chosen[objective], gains[objective] = joint_choice(by_family, rows[objective], margin)
    return {
        "chosen": chosen,
        "tricks": rows,
        "gains": gains,
        "margin": {"value": margin, "reseeds": list(reseeds), "changes": changes},
    }
