"""MLflow tracking: the driver's single writer, resume queries, environment provenance."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric, Param
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import schema
from bench.trial import TrialResult


@event.listens_for(Engine, "connect")
def _sqlite_wal(connection: Any, _record: Any) -> None:
    """SQLite stores in WAL mode: commits without a journal file per transaction, readers
    (``mlflow ui``) never blocked by the sweep's writer; safe against a killed process."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


PACKAGES = ("torch", "torchvision", "pyod", "mlflow", "numpy", "scikit-learn", "memray", "ray")
MAX_PARAM_CHARS = 6000


def resolve_tracking_uri(uri: str | None) -> str:
    """``uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's own default (``mlflow.db`` here)."""
    if uri:
        return uri
    return os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


@cache
def environment_tags() -> dict[str, str]:
    """Package versions, code version and host: the same for every run of one sweep."""
    tags = {
        schema.TAG_VERSION: _version("ff-oneclass-bench"),
        schema.TAG_SCHEMA: schema.SCHEMA_VERSION,
        schema.TAG_HOST: platform.node(),
        schema.TAG_CPU: _cpu_name(),
        f"{schema.TAG_VERSION_PREFIX}python": platform.python_version(),
    }
    for package in PACKAGES:
        version = _version(package)
        if version:
            tags[f"{schema.TAG_VERSION_PREFIX}{package}"] = version
    commit = git_commit()
    if commit:
        tags[schema.TAG_GIT_COMMIT] = commit
    return tags


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def git_commit() -> str:
    """HEAD of the checkout this code runs from, ``+dirty`` when it has local changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_PARAM_CHARS]


class Store:
    """One experiment in one tracking store, written by one process (the sweep's driver)."""

    def __init__(self, experiment: str, tracking_uri: str | None = None):
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self.client = MlflowClient(self.tracking_uri)
        self.experiment = experiment
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = (
            found.experiment_id if found else self.client.create_experiment(experiment)
        )

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

    def finished_hashes(self) -> set[str]:
        """Trial hashes that already have a FINISHED run in this experiment."""
        runs = self._runs("attributes.status = 'FINISHED'")
        return {
            r.data.tags[schema.TAG_TRIAL_HASH] for r in runs if schema.TAG_TRIAL_HASH in r.data.tags
        }

    def close_interrupted(self) -> int:
        """Mark trial runs left RUNNING by a killed sweep as KILLED; returns how many."""
        stale = self._runs("attributes.status = 'RUNNING'")
        stale = [r for r in stale if schema.TAG_TRIAL_HASH in r.data.tags]
        for run in stale:
            self.client.set_terminated(run.info.run_id, "KILLED")
        return len(stale)

    def record(self, result: TrialResult, extra_tags: dict[str, str]) -> str:
        """Write one trial as one run: params, tags, metrics, artifacts, final status."""
        trial = result.trial
        tags = {
            **environment_tags(),
            **extra_tags,
            **result.tags,
            schema.TAG_TRIAL_HASH: trial.key,
            schema.TAG_SUITE: trial.suite,
        }
        if result.error:
            tags[schema.TAG_ERROR] = result.error[:5000]
        run = self.client.create_run(
            self.experiment_id,
            start_time=int(result.start_time * 1000),
            tags={k: str(v) for k, v in tags.items()},
            run_name=trial.run_name,
        )
        run_id = run.info.run_id
        params = {
            schema.PARAM_DETECTOR: trial.detector,
            schema.PARAM_DATASET: trial.dataset,
            schema.PARAM_NORMAL_CLASS: trial.normal_class,
            schema.PARAM_SEED: trial.seed,
            **{f"{schema.HPARAM_PREFIX}{k}": v for k, v in trial.hparams.items()},
            **result.params,
        }
        stamp = int(result.end_time * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in sorted(result.metrics.items())],
            params=[Param(k, _param_value(v)) for k, v in sorted(params.items())],
        )
        artifacts = get_artifact_repository(run.info.artifact_uri)  # no store round trip
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
            if result.scores is not None:
                path = Path(tmp) / schema.ARTIFACT_SCORES
                np.savetxt(
                    path,
                    result.scores,
                    delimiter=",",
                    header="index,label,score",
                    comments="",
                    fmt=["%d", "%d", "%.10g"],
                )
                artifacts.log_artifact(str(path))
            if result.traceback:
                path = Path(tmp) / schema.ARTIFACT_TRACEBACK
                path.write_text(result.traceback)
                artifacts.log_artifact(str(path))
        self.client.set_terminated(run_id, result.status, end_time=stamp)
        return run_id
