"""Plan a sweep, skip what is done, run the rest on an executor, record every result."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import plugins
from bench.detectors import DETECTORS
from bench.executors import RunOptions
from bench.plan import Plan, Skip
from bench.tracking.claims import store_lock
from bench.tracking.store import Store
from bench.trial import Trial, TrialResult
from core import schema

SKIPPED = "skipped.json"


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
        **({schema.TAG_SELECTION: spec.selection} if spec.selection else {}),
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
    driver_cpu_seconds: float = 0.0  # the driver's CPU while the trials ran: claims, records
    preload_cpu_seconds: float = 0.0  # the driver's CPU importing detector code before that
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
        run_id, why = store.claim(trial, rerun=rerun, tags=tags_of(trial))
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

    def tags_of(trial: Trial) -> dict[str, str]:
        return {**_spec_tags(trial), **file_tags}

    start, cpu = time.perf_counter(), time.process_time()
    prepare = getattr(executor, "prepare", None)
    if prepare is not None and todo:
        prepare(todo)
        summary.preload_cpu_seconds = time.process_time() - cpu
        cpu = time.process_time()
    results = executor.run(todo, options, claim=claim)
    try:
        with store.holding_claims():
            try:
                for result in results:
                    _count(summary, result, bar)
                    store.record(result, tags_of(result.trial), files)
                    bar.set_postfix_str(result.trial.run_name, refresh=False)
                    bar.update()
            finally:
                close = getattr(results, "close", None)
                if close is not None:  # stop the workers now, also when interrupted
                    close()
    finally:
        bar.close()
        summary.wall_seconds = time.perf_counter() - start
        summary.driver_cpu_seconds = time.process_time() - cpu
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
