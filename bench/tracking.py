"""MLflow tracking: the driver's single writer, resume queries, environment provenance."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.errors import StoreError
from bench.trial import Trial, TrialResult
from core import schema
from core.metrics import SCORE_METRICS

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: store creation is not serialised
    fcntl = None  # type: ignore[assignment]


@event.listens_for(Engine, "connect")
def _sqlite_wal(connection: Any, _record: Any) -> None:
    """SQLite stores in WAL mode: commits without a journal file per transaction, readers
    (``mlflow ui``) never blocked by the sweep's writer; safe against a killed process."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


#: MLflow's limit on metrics (and on all entities) in one log_batch request.
MAX_BATCH_ENTITIES = 1000
#: Seconds the check of a tracking server may take before it is called unreachable.
SERVER_CHECK_TIMEOUT_S = 5.0
#: A claim (a RUNNING trial run) of a sweep on another host expires when its heartbeat is
#: older than this; on this host a claim expires as soon as its process is gone.
CLAIM_STALE_S = float(os.environ.get("BENCH_CLAIM_STALE_S", "900"))
HEARTBEAT_S = 60.0
TAG_CLAIM_OWNER = "bench.claim.owner"  # host:pid:process start of the sweep that claimed it
TAG_CLAIM_HEARTBEAT = "bench.claim.heartbeat"  # epoch seconds, renewed while it runs

#: Experiment tag that marks a model-training experiment, so ``mlflow ui`` opens it on its
#: runs table rather than a GenAI overview: every experiment the benchmark creates carries it.
#: (MLflow 3.17's UI decides by its global GenAI / Model training switch instead, remembered
#: by the browser; :func:`ui_url` gives the link that opens the runs table there too.)
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: A saved runs-table view (columns, sort) stored as an experiment tag: MLflow's shared view
#: state, opened with ``#/experiments/<id>/runs?viewStateShareKey=bench``.
VIEW_KEY = "bench"
TAG_VIEW = f"mlflow.sharedViewState.{VIEW_KEY}"
VIEW_COLUMNS = (
    ("attributes", "Dataset"),
    ("params", schema.PARAM_DETECTOR),
    ("params", schema.PARAM_DATASET),
    ("params", schema.PARAM_NORMAL_CLASS),
    ("params", schema.PARAM_SEED),
    *(("metrics", m.name) for m in SCORE_METRICS),
    ("metrics", schema.METRIC_PEAK_TRAIN_MEM),
    ("metrics", schema.METRIC_FIT_SECONDS),
    ("tags", schema.TAG_FAMILY),
)

PACKAGES = ("torch", "torchvision", "pyod", "mlflow", "numpy", "scikit-learn", "memray", "ray")
MAX_PARAM_CHARS = 6000


def resolve_tracking_uri(uri: str | None) -> str:
    """``uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's own default (``mlflow.db`` here)."""
    if uri:
        return uri
    return os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory or
    absolute with four slashes), None for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def check_store(uri: str, *, create: bool = True, write: bool = True) -> None:
    """Fail fast, in one line (:class:`StoreError`), on a store that cannot work.

    A tracking server must answer within :data:`SERVER_CHECK_TIMEOUT_S`; a SQLite store must
    exist (unless ``create``) and, with ``write``, its file and directory must be writable
    (SQLite writes its WAL files beside the database).
    """
    if uri.startswith(("http://", "https://")):
        _check_server(uri)
        return
    path = sqlite_path(uri)
    if path is None:
        return
    where = path.absolute()
    folder = where.parent
    hint = "pass --tracking-uri sqlite:////a/writable/dir/mlflow.db"
    if path.exists():
        if not path.is_file():
            raise StoreError(f"the tracking store {where} is not a file")
        if write and not (os.access(path, os.R_OK | os.W_OK) and os.access(folder, os.W_OK)):
            raise StoreError(
                f"the tracking store {where} is read-only (SQLite needs the file and its "
                f"directory {folder} writable); {hint}"
            )
        with store_lock(uri):  # not while another sweep is creating it
            problem = _lasting_schema_problem(path)
        if problem:
            raise StoreError(_damaged(uri, problem))
        return
    if not create:
        raise StoreError(
            f"no tracking store at {where}: nothing was recorded there (run `python -m bench "
            "run` first, or pass --tracking-uri with the store to read)"
        )
    if not folder.is_dir():
        what = "is not a directory" if folder.exists() else "does not exist"
        raise StoreError(f"cannot create the tracking store {where}: {folder} {what}")
    if not os.access(folder, os.W_OK):
        raise StoreError(
            f"cannot create the tracking store {where}: the directory {folder} is not "
            f"writable; {hint}"
        )


#: Tables every MLflow tracking store has had since its first schema.
_CORE_TABLES = frozenset({"experiments", "runs", "tags", "params", "metrics"})


def _schema_problem(path: Path) -> str | None:
    """What is wrong with an existing SQLite store's schema, or None: a store whose creation
    or migration was interrupted has some tables but not MLflow's current schema version."""
    try:
        con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {name for (name,) in rows}
            version = None
            if "alembic_version" in tables:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
                version = row[0] if row else None
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        if "not a database" in str(err) or "malformed" in str(err):
            return f"not an SQLite database: {err}"
        return None  # cannot tell from here; MLflow says more when it opens it
    if not tables:
        return None  # an empty file: MLflow creates the store in it
    missing = sorted(_CORE_TABLES - tables)
    if missing:
        return f"tables {', '.join(missing)} missing"
    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        head = _get_latest_schema_revision()
    except Exception:  # an MLflow without it: leave the check to MLflow
        return None
    if version != head:
        return f"schema version {version}, this MLflow {mlflow.__version__} needs {head}"
    return None


def _lasting_schema_problem(path: Path, tries: int = 3, pause: float = 1.0) -> str | None:
    """A schema problem that is still there after ``tries`` looks: a store that a process
    without the lock (another MLflow client) is creating right now is not damaged."""
    for attempt in range(tries):
        problem = _schema_problem(path)
        if problem is None or attempt == tries - 1:
            return problem
        time.sleep(pause)
    return None


def _damaged(uri: str, detail: str) -> str:
    path = sqlite_path(uri)
    if path is None:
        return f"the tracking store {uri} cannot be used: {detail}"
    where = path.absolute()
    return (
        f"the tracking store {where} is half-created or half-migrated ({detail}); if it holds "
        f"nothing you need, delete it (rm {where} {where}-wal {where}-shm) and run again, else "
        f"restore a backup or run `mlflow db upgrade {uri}`"
    )


def _check_server(uri: str) -> None:
    url = uri.rstrip("/") + "/health"
    request = urllib.request.Request(url, headers={"User-Agent": "ff-oneclass-bench"})
    try:
        with urllib.request.urlopen(request, timeout=SERVER_CHECK_TIMEOUT_S):
            return
    except urllib.error.HTTPError:
        return  # a server answered; MLflow reports what it thinks of the request
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise StoreError(
            f"the tracking server {uri} is unreachable ({reason}); start it (mlflow server "
            "--backend-store-uri sqlite:///bench.db --port PORT) or pass another --tracking-uri"
        ) from None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>-lock`` beside a SQLite store (no-op for others):
    concurrent sweeps create the store, its experiments and their claims one at a time."""
    path = sqlite_path(uri)
    handle = None
    if path is not None and fcntl is not None:
        with contextlib.suppress(OSError):
            handle = open(path.with_name(path.name + "-lock"), "a")  # noqa: SIM115
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_client(uri: str) -> MlflowClient:
    """An MLflow client whose store is open (created or schema-checked), or a one-line
    :class:`StoreError` saying what is wrong and how to fix it. Call it under
    :func:`store_lock` when the store may be new."""
    path = sqlite_path(uri)
    problem = _lasting_schema_problem(path) if path is not None and path.is_file() else None
    if problem:
        raise StoreError(_damaged(uri, problem))
    for attempt in range(3):
        try:
            client = MlflowClient(uri)
            client.search_experiments(max_results=1)
            return client
        except Exception as exc:  # a client without the lock may be creating it: look again
            if attempt == 2:
                lines = str(exc).strip().splitlines() or [type(exc).__name__]
                raise StoreError(_damaged(uri, lines[0][:300])) from None
            time.sleep(1.0)
    raise AssertionError("unreachable")


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment of a SQLite store keeps its artifacts: beside the database,
    in ``<db stem>-artifacts/<experiment>``; None (MLflow's ``./mlruns``, which is beside it)
    for the default ``./mlflow.db`` and for other stores."""
    path = sqlite_path(uri)
    if path is None or path.absolute() == Path.cwd() / "mlflow.db":
        return None
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)
    return str(path.absolute().parent / f"{path.stem}-artifacts" / folder)


def _process_start(pid: int) -> str | None:
    """The start time of a live process (from ``/proc``), None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc here: is the pid alive at all?
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in "ZXx" else fields[19]


def claim_owner() -> str:
    """``host:pid:start``: names this sweep's process, so a dead one's claims can be told."""
    return f"{platform.node()}:{os.getpid()}:{_process_start(os.getpid())}"


def claim_alive(tags: dict[str, str], now: float | None = None) -> bool:
    """Whether a RUNNING run's claim is still held: its process lives (same host) or its
    heartbeat is younger than :data:`CLAIM_STALE_S` (another host)."""
    owner = tags.get(TAG_CLAIM_OWNER)
    if not owner or owner.count(":") < 2:
        return False  # a run left RUNNING by an older harness: its sweep is gone
    host, pid, start = owner.rsplit(":", 2)
    if host == platform.node():
        return pid.isdigit() and _process_start(int(pid)) == start
    try:
        beat = float(tags.get(TAG_CLAIM_HEARTBEAT, "0"))
    except ValueError:
        return False
    return (now or time.time()) - beat < CLAIM_STALE_S


def environment_tags() -> dict[str, str]:
    """Package versions, code version and host: the same for every run of one sweep (a
    copy: the values are read once per process)."""
    return dict(_environment_tags())


@cache
def _environment_tags() -> dict[str, str]:
    tags = {
        schema.TAG_VERSION: _version("ff-oneclass-bench"),
        schema.TAG_SCHEMA: schema.SCHEMA_VERSION,
        schema.TAG_HOST: platform.node(),
        schema.TAG_CPU: _cpu_name(),
        schema.TAG_OS: platform.platform(),
        f"{schema.TAG_VERSION_PREFIX}python": platform.python_version(),
    }
    with contextlib.suppress(ValueError, OSError, AttributeError):  # not POSIX: no RAM tag
        tags[schema.TAG_RAM] = str(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
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
        self._locked = sqlite_path(self.tracking_uri) is not None and fcntl is not None
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
            runs = self._runs(f"tags.`{schema.TAG_TRIAL_HASH}` = '{key}'")
            if not rerun and any(r.info.status == "FINISHED" for r in runs):
                return None, "finished"
            for run in (r for r in runs if r.info.status == "RUNNING"):
                if claim_alive(run.data.tags):
                    return None, "claimed by another sweep"
                self.client.set_terminated(run.info.run_id, "KILLED")
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
        runs = self._runs(f"tags.`{schema.TAG_TRIAL_HASH}` = '{key}'")
        rank = (mine.info.start_time, mine.info.run_id)
        return any(
            r.info.status == "RUNNING"
            and claim_alive(r.data.tags)
            and (r.info.start_time, r.info.run_id) < rank
            for r in runs
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


def ui_url(experiment_id: str, base: str = "http://127.0.0.1:5000") -> str:
    """The MLflow UI's page of an experiment's runs table, as a model-training experiment,
    with the benchmark's saved columns."""
    query = f"workflowType=machine_learning&viewStateShareKey={VIEW_KEY}"
    return f"{base}/#/experiments/{experiment_id}/runs?{query}"


def experiment_tags() -> dict[str, str]:
    """Tags of every experiment the benchmark creates: the runs table as the UI's first view
    (:data:`TAG_EXPERIMENT_KIND`) and a saved view with the benchmark's columns."""
    columns = [f"{kind}.`{key}`" for kind, key in VIEW_COLUMNS]
    view = {
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
        "selectedColumns": columns,
        "viewMaximized": False,
    }
    return {TAG_EXPERIMENT_KIND: EXPERIMENT_KIND, TAG_VIEW: json.dumps(view)}


class SplitSource(DatasetSource):
    """Where a split's data come from, as metadata: dataset, normal class, seed, protocol,
    the source (URL or package), preprocessing and the files' sha256. Reload the data with
    ``datasets.load_split(dataset, normal_class, seed)``; nothing is copied into the store."""

    def __init__(self, info: dict[str, Any]):
        self._info = dict(info)

    @staticmethod
    def _get_source_type() -> str:
        return schema.INPUT_SOURCE_TYPE

    def load(self, **kwargs: Any) -> Any:
        from datasets import load_split

        i = self._info
        return load_split(i["dataset"], i["normal_class"], i["seed"], **kwargs)

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> SplitSource:
        raise NotImplementedError("a split source is built from its dict (from_dict)")

    def to_dict(self) -> dict[str, Any]:
        return dict(self._info)

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> SplitSource:
        return cls(source_dict)


class SplitDataset(MetaDataset):
    """A metadata-only MLflow dataset for one part of a split, with its shape and anomaly
    share as the profile."""

    def __init__(self, source: SplitSource, name: str, digest: str, profile: dict[str, Any]):
        self._profile = profile
        super().__init__(source, name=name, digest=digest)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


SOURCE_KEYS = (
    "dataset",
    "normal_class",
    "seed",
    "source",
    "protocol",
    "preprocessing",
    "files_sha256",
    "split_sha256",
    "indices_sha256",
)


def dataset_inputs(parts: list[dict[str, Any]]) -> list[DatasetInput]:
    """MLflow dataset inputs (context ``train`` / ``test``) for :func:`bench.splitinfo.describe`'s
    parts: name ``<dataset>/<normal class>``, digest of the split and the part's indices,
    source and protocol in the source, shape and anomaly share in the profile."""
    inputs = []
    for part in parts:
        source = SplitSource({k: part[k] for k in SOURCE_KEYS if k in part})
        profile = {
            "num_rows": part["shape"][0],
            "shape": part["shape"],
            "anomaly_share": part["anomaly_share"],
            "contaminated": part.get("contaminated", False),
        }
        dataset = SplitDataset(source, part["name"], part["digest"], profile)
        tag = InputTag(key=MLFLOW_DATASET_CONTEXT, value=part["context"])
        inputs.append(DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[tag]))
    return inputs
