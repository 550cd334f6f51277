"""Locks and claims: the lock file beside a SQLite store, and whose a claimed trial is."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.tracking.location import sqlite_path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: store creation is not serialised
    fcntl = None  # type: ignore[assignment]

#: A claim (a RUNNING trial run) of a sweep on another host expires when its heartbeat is
#: older than this; on this host a claim expires as soon as its process is gone.
CLAIM_STALE_S = float(os.environ.get("BENCH_CLAIM_STALE_S", "900"))
HEARTBEAT_S = 60.0
TAG_CLAIM_OWNER = "bench.claim.owner"  # host:pid:process start of the sweep that claimed it
TAG_CLAIM_HEARTBEAT = "bench.claim.heartbeat"  # epoch seconds, renewed while it runs


def locks(uri: str) -> bool:
    """Whether :func:`store_lock` serialises writers of this store (a SQLite file, POSIX)."""
    return sqlite_path(uri) is not None and fcntl is not None


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


@dataclass(frozen=True)
class TrialRun:
    """A run of one trial as a claim reads it: id, status, start time and claim tags."""

    run_id: str
    status: str
    start_time: int
    tags: dict[str, str]


def sqlite_trial_runs(db: Path, experiment_id: str, hash_tag: str, key: str) -> list[TrialRun]:
    """The active runs of ``experiment_id`` whose tag ``hash_tag`` is ``key``, read from a
    SQLite store with two indexed queries (MLflow's ``search_runs`` builds every match's
    entities and costs the driver about as much CPU as creating the run)."""
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as con:
        rows = con.execute(
            "SELECT r.run_uuid, r.status, r.start_time FROM tags t "
            "JOIN runs r ON r.run_uuid = t.run_uuid "
            "WHERE t.key = ? AND t.value = ? AND r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active'",
            (hash_tag, key, int(experiment_id)),
        ).fetchall()
        tags: dict[str, dict[str, str]] = {run_id: {} for run_id, _, _ in rows}
        if rows:
            marks = ", ".join("?" * len(rows))
            for run_id, k, v in con.execute(
                f"SELECT run_uuid, key, value FROM tags WHERE key IN (?, ?) "
                f"AND run_uuid IN ({marks})",
                (TAG_CLAIM_OWNER, TAG_CLAIM_HEARTBEAT, *tags),
            ):
                tags[run_id][k] = v
    return [TrialRun(r, status, int(start or 0), tags[r]) for r, status, start in rows]
