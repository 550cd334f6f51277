"""Where a tracking store is: its URI, its SQLite file, where a new experiment's artifacts go."""

from __future__ import annotations

import os
import re
from pathlib import Path

import mlflow


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


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment of a SQLite store keeps its artifacts: beside the database,
    in ``<db stem>-artifacts/<experiment>``; None (MLflow's ``./mlruns``, which is beside it)
    for the default ``./mlflow.db`` and for other stores."""
    path = sqlite_path(uri)
    if path is None or path.absolute() == Path.cwd() / "mlflow.db":
        return None
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)
    return str(path.absolute().parent / f"{path.stem}-artifacts" / folder)
