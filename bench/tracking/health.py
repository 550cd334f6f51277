"""Whether a tracking store can work: a server that answers, a SQLite file that is writable
and fully migrated; an open client or a one-line :class:`StoreError` with the fix."""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from bench.errors import StoreError
from bench.tracking.claims import store_lock
from bench.tracking.location import sqlite_path

#: Seconds the check of a tracking server may take before it is called unreachable.
SERVER_CHECK_TIMEOUT_S = 5.0


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
