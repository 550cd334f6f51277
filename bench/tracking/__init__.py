"""MLflow tracking, by responsibility: where a store is (:mod:`.location`), whether it works
(:mod:`.health`), locks and claims (:mod:`.claims`), provenance tags (:mod:`.provenance`), the
driver's single writer (:mod:`.store`), the UI's runs-table view (:mod:`.view`) and dataset
inputs (:mod:`.inputs`).

Importing any of them switches SQLite stores opened in this process to WAL mode (below).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_wal(connection: Any, _record: Any) -> None:
    """SQLite stores in WAL mode: commits without a journal file per transaction, readers
    (``mlflow ui``) never blocked by the sweep's writer; safe against a killed process."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
