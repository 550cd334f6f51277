"""Label-free selection of a network's training configuration and scoring rule (the tuned
presets, ``ff/tuned.json``; run by ``benchmarks/select_networks.py``).

The criterion is the **held-out cluster** AUROC, computed from training normals alone: k-means
(k = :data:`CLUSTERS`) on a tuning split's training normals, one cluster (drawn from the
seed) dropped; the detector is fitted on the kept clusters less a held-out
:data:`HELD_OUT` of them and scores the held-out normals against the dropped cluster. It
imitates what the leave-one-class-out suites test (a mode of the data never seen in
training) without any label: the pseudo-anomalies are a cluster of normals. Per candidate
(configuration x scoring rule) the AUROC is averaged over a tuning set's problems, then over
tuning sets; the candidate with the highest mean wins (ties: the first in grid order).

What the selection receives from a tuning split is its ``X_train`` and nothing else: it
never reads a test row or a label (:func:`problems`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score

from bench.detectors import DETECTORS
from bench.suites import EMBEDDED_MAX_STEPS
from datasets.split import Split
from ff.hparams import DECLARABLE_RULES

# the search space and budget: the same for every family (FF and its same-loss twin)
OPTIMIZERS = (("adam", 1e-3), ("adam", 1e-4), ("sgd", 3e-3), ("sgd", 1e-2), ("sgd", 3e-2))
WIDTHS = ((128, 64, 32), (1024, 1024))
BUDGET = {"max_steps": EMBEDDED_MAX_STEPS}  # the embedded suite's cap
OBJECTIVES = ("goodness", "hb-svdd")
FAMILIES = ("ff", "bp")
CLUSTERS = 5
HELD_OUT = 0.2  # of the kept clusters' normals, scored against the dropped cluster
MIN_HELD_OUT = 10
CRITERION = (
    f"held-out cluster AUROC: k-means (k={CLUSTERS}) on a tuning split's training normals, one "
    f"cluster dropped; fitted on the kept clusters less {HELD_OUT:.0%}, scoring those held-out "
    "normals against the dropped cluster; mean over a tuning set's splits, then over sets"
)


@dataclass(frozen=True)
class Problem:
    """A label-free pseudo-problem made from one split's training normals."""

    train: np.ndarray  # the kept clusters less the held-out normals: what the detector fits
    normal: np.ndarray  # held-out normals of the kept clusters
    dropped: np.ndarray  # the dropped cluster: the pseudo-anomalies


def held_out_cluster(X_train: np.ndarray, seed: int) -> Problem:
    """The held-out cluster problem of training normals ``X_train`` (module docstring)."""
    rng = np.random.default_rng(seed)
    labels = KMeans(CLUSTERS, n_init=3, random_state=seed).fit_predict(X_train)
    sizes = np.bincount(labels, minlength=CLUSTERS)
    drop = rng.choice(np.flatnonzero(sizes >= 2))
    kept = X_train[labels != drop]
    order = rng.permutation(len(kept))
    n = max(MIN_HELD_OUT, int(len(kept) * HELD_OUT))
    return Problem(kept[order[n:]], kept[order[:n]], X_train[labels == drop])


def problems(splits: Iterable[Split], seed: int = 0) -> dict[str, list[Problem]]:
    """Per tuning set, the held-out cluster problem of each split, from its ``X_train`` only."""
    out: dict[str, list[Problem]] = {}
    for i, split in enumerate(splits):
        state = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        out.setdefault(split.dataset, []).append(held_out_cluster(split.X_train, state))
    return out


def criterion(
    detector: str, config: Mapping[str, Any], problem: Problem, seed: int
) -> dict[str, float]:
    """Per declarable rule, the held-out cluster AUROC of ``detector`` with ``config``."""
    spec = DETECTORS.get(detector)
    det = spec.build(seed, "cpu", spec.resolve(config))
    det.fit(problem.train)
    scores = det.score_rules(np.vstack([problem.normal, problem.dropped]))
    pseudo = np.r_[np.zeros(len(problem.normal)), np.ones(len(problem.dropped))]
    return {rule: float(roc_auc_score(pseudo, scores[rule])) for rule in DECLARABLE_RULES}


@dataclass(frozen=True)
class Candidate:
    """A configuration and scoring rule with its criterion (mean over tuning sets)."""

    config: dict[str, Any]
    rule: str
    value: float
    per_set: dict[str, float]  # the criterion on each tuning set (mean over its problems)

    def record(self) -> dict[str, Any]:
        """The configuration with ``score_layers`` and its ``criterion``."""
        return {**self.config, "score_layers": self.rule, "criterion": round(self.value, 6)}


def rank(
    detector: str,
    grid: Sequence[Mapping[str, Any]],
    tuning: Mapping[str, Sequence[Problem]],
    seed: int = 0,
    done: Callable[[str], None] | None = None,
) -> list[Candidate]:
    """Every (configuration of ``grid``, declarable rule) of ``detector``, best first by the
    criterion over the ``tuning`` problems; ``done`` is told each configuration finished."""
    candidates = []
    for config in grid:
        per_set = {}
        for name, problems_of_set in tuning.items():
            values = [criterion(detector, config, p, seed) for p in problems_of_set]
            per_set[name] = {r: float(np.mean([v[r] for v in values])) for r in DECLARABLE_RULES}
        for rule in DECLARABLE_RULES:
            on_set = {name: round(v[rule], 6) for name, v in per_set.items()}
            mean = float(np.mean([v[rule] for v in per_set.values()]))
            candidates.append(Candidate(dict(config), rule, mean, on_set))
        if done is not None:
            done(f"{detector} {dict(config)}")
    return sorted(candidates, key=lambda c: -c.value)  # stable: ties keep grid order


def grid(
    optimizers: Sequence[tuple[str, float]] = OPTIMIZERS,
    widths: Sequence[Sequence[int]] = WIDTHS,
    budget: Mapping[str, Any] = BUDGET,
) -> list[dict[str, Any]]:
    """Every (widths, optimizer, lr) with the budget; the defaults' configuration first."""
    return [
        {"optimizer": o, "lr": lr, "widths": list(w), **budget}
        for w in widths
        for o, lr in optimizers
    ]


def select(
    splits: Iterable[Split],
    configs: Sequence[Mapping[str, Any]],
    objectives: Sequence[str] = OBJECTIVES,
    families: Sequence[str] = FAMILIES,
    seed: int = 0,
    done: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The choice per objective and family (``chosen``: a configuration with ``score_layers``
    and ``criterion``) and every candidate best first (``candidates``: the same with the
    criterion ``per_set``); the same ``configs`` and problems for every family. Reads the
    splits' ``X_train`` only."""
    tuning = problems(splits, seed)
    chosen: dict[str, dict[str, Any]] = {}
    candidates: dict[str, dict[str, Any]] = {}
    for objective in objectives:
        for family in families:
            ranked = rank(f"{family}-{objective}-mlp", configs, tuning, seed, done)
            chosen.setdefault(objective, {})[family] = ranked[0].record()
            candidates.setdefault(objective, {})[family] = [
                {**c.record(), "per_set": c.per_set} for c in ranked
            ]
    return {"chosen": chosen, "candidates": candidates}


# ---- stage 2: the one-class tricks (issue 22), each on top of a base configuration ----------
# Each trick changes a few hyperparameters of a base (ff.tricks); "wide" / "deep" keep the
# chosen configuration's optimizer and step budget. A trick equal to the detector's default
# (no-bias on the bias-free SVDD layers) is not tried. Time box: every trick on top of the
# stage-1 choice, and the cheap ones (not the widths) on top of the default configuration.
TRICKS: dict[str, dict[str, Any]] = {
    "tanh": {"activation": "tanh"},
    "no-bias": {"bias": False},
    "pretrain": {"pretrain": "autoencoder"},
    "ensemble-3": {"ensemble": 3},
    "wide": {"widths": [2048, 1024]},  # [2048] alone would be a linear map (no activation)
    "deep": {"widths": [1024, 1024, 1024]},
}
WIDTH_TRICKS = ("wide", "deep")  # on the chosen configuration only
STAGE_TWO = (
    "every trick alone on top of the stage-1 choice and (all but the width tricks) of the "
    "default configuration, on the same problems, under every declarable rule; the choice "
    "stays stage 1's unless a trick's best candidate has a higher criterion (then the best "
    "such candidate)."
)


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


def select_tricks(
    splits: Iterable[Split],
    stage1: Mapping[str, Mapping[str, Mapping[str, Any]]],
    default: Mapping[str, Any],
    seed: int = 0,
    done: Callable[[str], None] | None = None,
    candidates: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """Stage 2: per objective and family of ``stage1`` (its ``chosen`` records), every row of
    :func:`trick_grid` ranked by the criterion on the same problems as stage 1. The choice
    (``chosen``) stays the stage-1 record unless a trick's candidate beats its criterion
    (ties keep stage 1); ``tricks`` has per row the best rule's candidate with ``base`` and
    ``trick``. With stage 1's ranked ``candidates`` (:func:`select`), a base's row without a
    trick is its best candidate there, not trained again. Reads the splits' ``X_train`` only."""
    tuning = problems(splits, seed)
    chosen: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for objective, by_family in stage1.items():
        for family, record in by_family.items():
            detector = f"{family}-{objective}-mlp"
            base = {k: v for k, v in record.items() if k not in ("score_layers", "criterion")}
            ranked = (candidates or {}).get(objective, {}).get(family, [])
            best = dict(record)
            found = []
            for base_name, trick, config in trick_grid(detector, base, default):
                known = [c for c in ranked if all(c.get(k) == v for k, v in config.items())]
                if trick == "none" and known:
                    found.append({"base": base_name, "trick": trick, **known[0]})
                    continue
                top = rank(detector, [config], tuning, seed, done)[0]
                found.append({"base": base_name, "trick": trick, **top.record()})
                found[-1]["per_set"] = top.per_set
                if trick != "none" and round(top.value, 6) > best["criterion"]:
                    best = top.record()
            chosen.setdefault(objective, {})[family] = best
            rows.setdefault(objective, {})[family] = found
    return {"chosen": chosen, "tricks": rows}
