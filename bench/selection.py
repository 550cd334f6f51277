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

