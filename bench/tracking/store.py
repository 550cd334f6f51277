"""The tracking store's single writer: one experiment, written by the sweep's driver only."""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric, Param, RunTag
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from bench.tracking.claims import (
    HEARTBEAT_S,
    TAG_CLAIM_HEARTBEAT,
    TAG_CLAIM_OWNER,
    TrialRun,
    claim_alive,
    claim_owner,
    locks,
    sqlite_trial_runs,
    store_lock,
)
from bench.tracking.health import check_store, open_client
from bench.tracking.inputs import dataset_inputs
from bench.tracking.location import artifact_location, resolve_tracking_uri, sqlite_path
from bench.tracking.provenance import environment_tags
from bench.tracking.view import experiment_tags
from bench.trial import Trial, TrialResult
from core import schema

#: MLflow's limit on metrics (and on all entities) in one log_batch request.
MAX_BATCH_ENTITIES = 1000
MAX_PARAM_CHARS = 6000


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_PARAM_CHARS]


class Store:
    """One experiment in one tracking store, written by the sweep's driver process only.

    Trials are claimed before they run: a claim is the trial's run, created RUNNING with the
    claiming process and a heartbeat as tags, and filled in when the result comes back. A
    SQLite store's claims are made under a file lock beside it (``<db>-lock``), so concurrent
    sweeps share the work and never run a trial twice; a claim whose process is gone (or,
    from another host, whose heartbeat is stale) is marked KILLED and claimed afresh.
    """

    def __init__(self, experiment: str, tracking_uri: str | None = None):
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        check_store(self.tracking_uri)
        self.experiment = experiment
        self.owner = claim_owner()
        self._claims: dict[str, tuple[str, str]] = {}  # trial hash -> (run id, artifact uri)
        self._locked = locks(self.tracking_uri)
        with store_lock(self.tracking_uri):
            self.client = open_client(self.tracking_uri)
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                location = artifact_location(self.tracking_uri, experiment)
                # (without a lock, another sweep may create it meanwhile)
                with contextlib.suppress(mlflow.exceptions.MlflowException):
                    self.client.create_experiment(
                        experiment, artifact_location=location, tags=experiment_tags()
                    )
                found = self.client.get_experiment_by_name(experiment)
            for key, value in experiment_tags().items():  # also on older experiments
                if key not in found.tags:
                    self.client.set_experiment_tag(found.experiment_id, key, value)
        self.experiment_id = found.experiment_id
        self.artifact_root = found.artifact_location
        self._db = sqlite_path(self.tracking_uri)

    def _runs(self, filter_string: str) -> list[Any]:
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string, max_results=5000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _trial_runs(self, key: str) -> list[TrialRun]:
        """This experiment's active runs of the trial with hash ``key``."""
        if self._db is not None:
            return sqlite_trial_runs(self._db, self.experiment_id, schema.TAG_TRIAL_HASH, key)
        runs = self._runs(f"tags.`{schema.TAG_TRIAL_HASH}` = '{key}'")
        return [
            TrialRun(r.info.run_id, r.info.status, r.info.start_time, r.data.tags) for r in runs
        ]

    def finished_hashes(self) -> set[str]:
        """Trial hashes that already have a FINISHED run in this experiment."""
        runs = self._runs("attributes.status = 'FINISHED'")
        return {
            r.data.tags[schema.TAG_TRIAL_HASH] for r in runs if schema.TAG_TRIAL_HASH in r.data.tags
        }

    def close_interrupted(self) -> int:
        """Mark trial runs left RUNNING by a sweep that is gone as KILLED; returns how many.

        Runs still claimed by a live sweep (this host: its process runs; another host: a
        fresh heartbeat) are left alone."""
        stale = self._runs("attributes.status = 'RUNNING'")
        stale = [
            r
            for r in stale
            if schema.TAG_TRIAL_HASH in r.data.tags and not claim_alive(r.data.tags)
        ]
        for run in stale:
            self.client.set_terminated(run.info.run_id, "KILLED")
        return len(stale)

    def claim(
        self, trial: Trial, rerun: bool = False, tags: Mapping[str, str] | None = None
    ) -> tuple[str | None, str]:
        """Claim ``trial`` for this sweep: ``(run id, "")``, or ``(None, why not)`` when it
        is finished already (unless ``rerun``) or another live sweep holds it. The claim's run
        carries the environment tags and ``tags`` (what is known before the trial runs), so
        :meth:`record` writes only what the result adds."""
        key = trial.key
        if key in self._claims:  # claimed already (a dead worker's queue, handed on)
            return self._claims[key][0], ""
        with store_lock(self.tracking_uri):
            runs = self._trial_runs(key)
            if not rerun and any(r.status == "FINISHED" for r in runs):
                return None, "finished"
            for run in (r for r in runs if r.status == "RUNNING"):
                if claim_alive(run.tags):
                    return None, "claimed by another sweep"
                self.client.set_terminated(run.run_id, "KILLED")
            claim_tags = {
                **_trial_tags(trial, tags or {}),
                TAG_CLAIM_OWNER: self.owner,
                TAG_CLAIM_HEARTBEAT: str(int(time.time())),
            }
            run = self.client.create_run(
                self.experiment_id, tags=claim_tags, run_name=trial.run_name
            )
        run_id = run.info.run_id
        if not self._locked and self._lost_race(key, run):
            self.client.delete_run(run_id)
            return None, "claimed by another sweep"
        self._claims[key] = (run_id, run.info.artifact_uri)
        return run_id, ""

    def _lost_race(self, key: str, mine: Any) -> bool:
        """Without a lock (a tracking server): the earliest live claim of a trial wins."""
        rank = (mine.info.start_time, mine.info.run_id)
        return any(
            r.status == "RUNNING" and claim_alive(r.tags) and (r.start_time, r.run_id) < rank
            for r in self._trial_runs(key)
        )

    @contextlib.contextmanager
    def holding_claims(self) -> Iterator[None]:
        """Renew this sweep's claims' heartbeats while it runs; on the way out, claims whose
        result never came (an interrupt) are marked KILLED."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                for run_id, _ in list(self._claims.values()):
                    with contextlib.suppress(Exception):
                        self.client.set_tag(run_id, TAG_CLAIM_HEARTBEAT, str(int(time.time())))

        thread = threading.Thread(target=beat, name="bench-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            for run_id, _ in list(self._claims.values()):
                with contextlib.suppress(Exception):
                    self.client.set_terminated(run_id, "KILLED")
            self._claims.clear()

    def record(
        self, result: TrialResult, extra_tags: dict[str, str], files: Sequence[Path] = ()
    ) -> str:
        """Write one trial as one run: params, tags, metrics, dataset inputs, artifacts
        (``files`` too: the sweep file), final status. A claimed trial's run has its
        environment and ``extra_tags`` from :meth:`claim` (given the same ``extra_tags``)."""
        trial = result.trial
        tags = {k: str(v) for k, v in result.tags.items()}
        if result.error:
            tags[schema.TAG_ERROR] = result.error[:5000]
        claimed = self._claims.pop(trial.key, None)
        if claimed is None:
            run = self.client.create_run(
                self.experiment_id,
                start_time=int(result.start_time * 1000),
                tags={**_trial_tags(trial, extra_tags), **tags},
                run_name=trial.run_name,
            )
            run_id, artifact_uri = run.info.run_id, run.info.artifact_uri
            tags = {}
        else:  # the claim's run (start time: when it was claimed)
            run_id, artifact_uri = claimed
        params = {
            schema.PARAM_DETECTOR: trial.detector,
            schema.PARAM_DATASET: trial.dataset,
            schema.PARAM_NORMAL_CLASS: trial.normal_class,
            schema.PARAM_SEED: trial.seed,
            **{f"{schema.HPARAM_PREFIX}{k}": v for k, v in trial.hparams.items()},
            **result.params,
        }
        stamp = int(result.end_time * 1000)
        metrics = [Metric(k, float(v), stamp, 0) for k, v in sorted(result.metrics.items())] + [
            # step metrics (stream runs: AUROC per window; networks: training curves per epoch)
            Metric(k, float(v), stamp, int(step))
            for k, values in sorted(result.step_metrics.items())
            for step, v in sorted(values.items())
        ]
        param_list = [Param(k, _param_value(v)) for k, v in sorted(params.items())]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        # one request for everything (MLflow's limit: MAX_BATCH_ENTITIES per request)
        first = MAX_BATCH_ENTITIES - len(param_list) - len(tag_list)
        self.client.log_batch(run_id, metrics=metrics[:first], params=param_list, tags=tag_list)
        for i in range(first, len(metrics), MAX_BATCH_ENTITIES):
            self.client.log_batch(run_id, metrics=metrics[i : i + MAX_BATCH_ENTITIES])
        if result.inputs:
            inputs = dataset_inputs(result.inputs)
            try:
                self.client.log_inputs(run_id, datasets=inputs)
            except mlflow.exceptions.MlflowException:
                # A concurrent sweep inserted the same split's dataset rows between MLflow's
                # lookup and insert (a UNIQUE conflict, rolled back): now they exist, so the
                # second call only links them to this run.
                self.client.log_inputs(run_id, datasets=inputs)
        artifacts = get_artifact_repository(artifact_uri)  # no store round trip
        for file in files:
            artifacts.log_artifact(str(file))
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
            if result.scores is not None:
                path = Path(tmp) / schema.ARTIFACT_SCORES
                np.savetxt(
                    path,
                    result.scores,
                    delimiter=",",
                    header=",".join(["index", "label", *result.score_columns]),
                    comments="",
                    fmt=["%d", "%d"] + ["%.17g"] * len(result.score_columns),
                )
                artifacts.log_artifact(str(path))
            if result.traceback:
                path = Path(tmp) / schema.ARTIFACT_TRACEBACK
                path.write_text(result.traceback)
                artifacts.log_artifact(str(path))
        self.client.set_terminated(run_id, result.status, end_time=stamp)
        return run_id


def _trial_tags(trial: Trial, extra: Mapping[str, str]) -> dict[str, str]:
    """The tags a trial's run has before its result: environment, ``extra``, hash, suite."""
    return {
        **environment_tags(),
        **{k: str(v) for k, v in extra.items()},
        schema.TAG_TRIAL_HASH: trial.key,
        schema.TAG_SUITE: trial.suite,
    }
