"""Plan a sweep, skip what is done, run the rest on an executor, record every result."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import schema
from bench.detectors import DETECTORS
from bench.executors import RunOptions
from bench.suites import Suite
from bench.tracking import Store
from bench.trial import Trial, TrialResult

SKIPPED = "skipped.json"


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
) -> Plan:
    """Every (detector, dataset, normal class, seed, grid point) that can run; the rest skipped.

    ``overrides`` and the suite's grid apply to the detectors that have those
    hyperparameters; an override no selected detector knows is an error.
    """
    from datasets import DATASETS

    detectors, dataset_names, seeds = list(detectors), list(dataset_names), list(seeds)
    specs = [DETECTORS.get(d) for d in detectors]
    unknown = [k for k in overrides if not any(k in s.defaults for s in specs)]
    if unknown:
        raise ValueError(f"no selected detector has hyperparameter(s) {unknown}")
    trials: list[Trial] = []
    skipped: list[Skip] = []
    for name in dataset_names:
        data = DATASETS.get(name)
        runnable = []
        for spec in specs:
            reason = spec.accepts(data.kind == "images")
            if reason:
                skipped.append(Skip(spec.name, name, reason))
                continue
            points: list[dict[str, Any]] = []
            for point in suite.grid:
                known = {k: v for k, v in {**point, **overrides}.items() if k in spec.defaults}
                hp = spec.resolve(known)
                if hp not in points:
                    points.append(hp)
            runnable.append((spec, points))
        for normal_class in data.normal_classes:  # every detector on one split in turn
            for seed in seeds:
                for spec, points in runnable:
                    for hp in points:
                        trials.append(
                            Trial(spec.name, name, normal_class, seed, hp, spec.version, suite.name)
                        )
    return Plan(trials, skipped)


def unavailable_datasets(names: Iterable[str], data_dir: Path) -> dict[str, str]:
    """Datasets that need files and cannot be loaded (not cached, offline, corrupt), with
    the reason; loading one split here also downloads and verifies it once, before workers
    start."""
    from datasets import DATASETS, DatasetError, load_split

    problems = {}
    for name in names:
        if DATASETS.get(name).downloads:
            try:
                load_split(name, None, 0, data_dir=data_dir)
            except DatasetError as exc:
                problems[name] = str(exc)
    return problems


def _spec_tags(trial: Trial) -> dict[str, str]:
    spec = DETECTORS.get(trial.detector)
    return {
        schema.TAG_FAMILY: spec.family,
        schema.TAG_TWIN: spec.twin,
        schema.TAG_OBJECTIVE: spec.objective,
        schema.TAG_ARCH: spec.arch,
    }


@dataclass
class SweepSummary:
    """What a sweep did, for the console and the exit code."""

    planned: int
    already_done: int
    finished: int = 0
    failed: list[TrialResult] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    wall_seconds: float = 0.0
    busy_seconds: float = 0.0  # sum of fit and score seconds
    auroc: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def overhead(self, workers: int) -> float:
        """Share of worker time not spent in fit or score."""
        capacity = self.wall_seconds * workers
        return (capacity - self.busy_seconds) / capacity if capacity else 0.0


def run_sweep(
    plan: Plan,
    store: Store,
    executor: Any,
    options: RunOptions,
    rerun: bool = False,
    progress: bool = True,
) -> SweepSummary:
    """Run the planned trials not finished yet (all with ``rerun``) and record each one."""
    store.close_interrupted()
    done = set() if rerun else store.finished_hashes()
    todo, seen = [], set()
    for trial in plan.trials:
        if trial.key not in done and trial.key not in seen:
            todo.append(trial)
            seen.add(trial.key)
    summary = SweepSummary(len(plan.trials), len(plan.trials) - len(todo), skipped=plan.skipped)
    if plan.skipped:
        _record_skipped(store, plan.skipped)
    bar = tqdm(
        total=len(todo), disable=not progress, unit="trial", file=sys.stderr, dynamic_ncols=True
    )
    start = time.perf_counter()
    try:
        for result in executor.run(todo, options):
            store.record(result, _spec_tags(result.trial))
            trial = result.trial
            if result.status == "FINISHED":
                summary.finished += 1
                summary.busy_seconds += result.metrics[schema.METRIC_FIT_SECONDS]
                summary.busy_seconds += result.metrics[schema.METRIC_SCORE_SECONDS]
                key = (trial.detector, trial.dataset)
                summary.auroc.setdefault(key, []).append(result.metrics[schema.METRIC_AUROC])
            else:
                summary.failed.append(result)
                bar.write(f"FAILED {trial.run_name}: {result.error}")
            bar.set_postfix_str(trial.run_name, refresh=False)
            bar.update()
    finally:
        bar.close()
        summary.wall_seconds = time.perf_counter() - start
    return summary


def _record_skipped(store: Store, skipped: list[Skip]) -> None:
    """Keep one summary run per experiment listing every skipped (detector, dataset) pair."""
    client = store.client
    found = client.search_runs(
        [store.experiment_id], f"tags.`{schema.TAG_SUMMARY}` = 'skipped'", max_results=1
    )
    entries = {(s.detector, s.dataset): s.reason for s in skipped}
    if found:
        run_id = found[0].info.run_id
        with tempfile.TemporaryDirectory() as tmp:
            old = json.loads(Path(client.download_artifacts(run_id, SKIPPED, tmp)).read_text())
        entries = {(e["detector"], e["dataset"]): e["reason"] for e in old} | entries
    else:
        run = client.create_run(
            store.experiment_id, run_name="skipped", tags={schema.TAG_SUMMARY: "skipped"}
        )
        run_id = run.info.run_id
    rows = [{"detector": d, "dataset": ds, "reason": r} for (d, ds), r in sorted(entries.items())]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / SKIPPED
        path.write_text(json.dumps(rows, indent=1))
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")
