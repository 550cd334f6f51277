"""Plan a sweep, skip what is done, run the rest on an executor, record every result."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import plugins, schema
from bench.detectors import DETECTORS
from bench.executors import RunOptions
from bench.suites import Suite
from bench.tracking import Store, store_lock
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
            reason = spec.accepts(data.kind)
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
        strict = spec.family != "pyod"
        for key, value in overrides.items():
            if key not in spec.defaults:
                continue
            wanted = _wanted(key, value, spec.defaults[key], strict)
            if wanted:
                raise ValueError(
                    f"--param {key}={json.dumps(value)}: {spec.name} needs {wanted} "
                    f"(default {json.dumps(spec.defaults[key])})"
                )
        for point in grid:
            known = {k: v for k, v in {**point, **overrides}.items() if k in spec.defaults}
            try:
                spec.build(0, "cpu", spec.resolve(known))
            except (ValueError, TypeError) as exc:
                given = " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items())
                raise ValueError(f"--param {given}: {spec.name} refuses it: {exc}") from None


def unavailable_datasets(
    names: Iterable[str], data_dir: Path, digests: dict[str, str] | None = None
) -> dict[str, str]:
    """Datasets that need files and cannot be loaded (not cached, offline, corrupt, a
    read-only directory without the file), with the reason; loading one split here also
    downloads and verifies it once, before workers start. ``digests`` receives the sha256 of
    each available dataset's files (JSON), for the trial hashes."""
    from datasets import DATASETS, DatasetError, load_split

    problems = {}
    for name in names:
        if DATASETS.get(name).downloads:
            try:
                split = load_split(name, None, 0, data_dir=data_dir)
            except DatasetError as exc:
                problems[name] = str(exc)
            except OSError as exc:
                problems[name] = f"{name}: cannot read or write its files in {data_dir}: {exc}"
            else:
                if digests is not None and split.provenance.sha256:
                    digests[name] = json.dumps(split.provenance.sha256, sort_keys=True)
    return problems


def _spec_tags(trial: Trial) -> dict[str, str]:
    spec = DETECTORS.get(trial.detector)
    return {
        schema.TAG_FAMILY: spec.family,
        schema.TAG_TWIN: spec.twin,
        schema.TAG_OBJECTIVE: spec.objective,
        schema.TAG_ARCH: spec.arch,
        schema.TAG_DETECTOR_VERSION: str(spec.version),
        **plugins.tags(trial.detector, trial.dataset),
    }


@dataclass
class SweepSummary:
    """What a sweep did, for the console and the exit code."""

    planned: int
    already_done: int
    finished: int = 0
    elsewhere: int = 0  # trials another live sweep held when this one reached them
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
    sweep_file: Path | None = None,
) -> SweepSummary:
    """Run the planned trials not finished yet (all with ``rerun``) and record each one.

    ``sweep_file`` (the ``--config`` TOML) is logged as an artifact of every run it produced,
    its sha256 as the tag ``bench.sweep_file.sha256``.

    Each trial is claimed in the store just before it runs (:meth:`Store.claim`): a trial
    finished meanwhile or held by another live sweep is left to it, so concurrent sweeps
    of one experiment share the work instead of repeating it."""
    store.close_interrupted()
    done = set() if rerun else store.finished_hashes()
    todo, seen = [], set()
    for trial in plan.trials:
        if trial.key not in done and trial.key not in seen:
            todo.append(trial)
            seen.add(trial.key)
    summary = SweepSummary(len(plan.trials), len(plan.trials) - len(todo), skipped=plan.skipped)
    if plan.skipped:
        with store_lock(store.tracking_uri):  # one summary run, also with concurrent sweeps
            _record_skipped(store, plan.skipped)
    bar = tqdm(
        total=len(todo), disable=not progress, unit="trial", file=sys.stderr, dynamic_ncols=True
    )

    def claim(trial: Trial) -> bool:
        run_id, why = store.claim(trial, rerun=rerun)
        if run_id is None:
            if why == "finished":
                summary.already_done += 1
            else:
                summary.elsewhere += 1
            bar.update()
        return run_id is not None

    files, file_tags = ([sweep_file], sweep_file_tags(sweep_file)) if sweep_file else ([], {})
    if getattr(executor, "workers", None):
        file_tags[schema.TAG_WORKERS] = str(executor.workers)
    start = time.perf_counter()
    results = executor.run(todo, options, claim=claim)
    try:
        with store.holding_claims():
            try:
                for result in results:
                    _count(summary, result, bar)
                    store.record(result, {**_spec_tags(result.trial), **file_tags}, files)
                    bar.set_postfix_str(result.trial.run_name, refresh=False)
                    bar.update()
            finally:
                close = getattr(results, "close", None)
                if close is not None:  # stop the workers now, also when interrupted
                    close()
    finally:
        bar.close()
        summary.wall_seconds = time.perf_counter() - start
    return summary


def sweep_file_tags(path: Path) -> dict[str, str]:
    """``bench.sweep_file`` (its name) and ``bench.sweep_file.sha256`` (of its bytes)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {schema.TAG_SWEEP_FILE: Path(path).name, schema.TAG_SWEEP_FILE_SHA256: digest}


def _count(summary: SweepSummary, result: TrialResult, bar: Any) -> None:
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
