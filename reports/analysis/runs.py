"""Read benchmark runs from MLflow into one tidy pandas table.

Column convention (the same as ``mlflow.search_runs``): ``run_id``, ``experiment``,
``run_name``, ``status``, ``start_time``, ``end_time``, then ``params.<key>``,
``tags.<key>`` and ``metrics.<key>`` for every param, tag and metric of every run.
A KILLED run left by an interrupted sweep is left out once its trial has a FINISHED run.
Trials the harness skipped (listed in ``skipped.json`` on a run tagged
``bench.summary=skipped``) become rows with status ``SKIPPED`` and the reason in
``tags.bench.error``, so that no trial disappears from the table.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from core import schema

PARAMS = "params."
TAGS = "tags."
METRICS = "metrics."
SKIPPED = "SKIPPED"
FINISHED = "FINISHED"
KILLED = "KILLED"
SUMMARY_SKIPPED = "skipped"
SKIPPED_ARTIFACT = "skipped.json"
PAGE_SIZE = 1000
BASE_COLUMNS = ["run_id", "experiment", "run_name", "status", "start_time", "end_time"]


def param(key: str) -> str:
    """Column name of a param."""
    return PARAMS + key


def tag(key: str) -> str:
    """Column name of a tag."""
    return TAGS + key


def metric(key: str) -> str:
    """Column name of a metric."""
    return METRICS + key


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _row(run: Run, experiment: str) -> dict[str, object]:
    row: dict[str, object] = {
        "run_id": run.info.run_id,
        "experiment": experiment,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "start_time": _time(run.info.start_time),
        "end_time": _time(run.info.end_time),
    }
    row.update({param(k): v for k, v in run.data.params.items()})
    row.update({tag(k): v for k, v in run.data.tags.items()})
    row.update({metric(k): v for k, v in run.data.metrics.items()})
    return row


def _search_all(client: MlflowClient, experiment_id: str) -> list[Run]:
    runs: list[Run] = []
    token: str | None = None
    while True:
        page = client.search_runs(
            [experiment_id],
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE_SIZE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _skipped_entries(client: MlflowClient, run: Run) -> list[dict[str, str]]:
    """Entries of ``skipped.json``: a list of objects or of [detector, dataset, reason]."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run.info.run_id, SKIPPED_ARTIFACT, tmp)
        except Exception:  # an absent artifact only means nothing was skipped
            return []
        data = json.loads(Path(path).read_text())
    if isinstance(data, dict):
        data = data.get("skipped", [])
    entries = []
    for item in data:
        if isinstance(item, dict):
            entries.append({k: str(v) for k, v in item.items()})
        else:
            entries.append(
                dict(zip(("detector", "dataset", "reason"), map(str, item), strict=False))
            )
    return entries


def _skipped_row(entry: dict[str, str], run: Run, experiment: str, index: int) -> dict[str, object]:
    detector, dataset = entry.get("detector", ""), entry.get("dataset", "")
    return {
        "run_id": f"{run.info.run_id}:skipped:{index}",
        "experiment": experiment,
        "run_name": f"{detector}/{dataset}",
        "status": SKIPPED,
        "start_time": _time(run.info.start_time),
        "end_time": None,
        param(schema.PARAM_DETECTOR): detector,
        param(schema.PARAM_DATASET): dataset,
        tag(schema.TAG_ERROR): entry.get("reason", ""),
        tag(schema.TAG_SUITE): run.data.tags.get(schema.TAG_SUITE, ""),
    }


def _superseded(run: Run, finished: set[str | None]) -> bool:
    """A KILLED run (an interrupted sweep's) of a trial that has since FINISHED: not a
    trial that did not finish, so not a row."""
    key = run.data.tags.get(schema.TAG_TRIAL_HASH)
    return run.info.status == KILLED and key is not None and key in finished


def load_runs(experiments: list[str], tracking_uri: str | None = None) -> pd.DataFrame:
    """One row per trial run of the named experiments (all pages); summary runs left out.

    Raises ``ValueError`` naming the existing experiments when a name is unknown.
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    rows: list[dict[str, object]] = []
    for name in experiments:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            existing = sorted(e.name for e in client.search_experiments(ViewType.ALL))
            raise ValueError(f"no MLflow experiment named {name!r}; existing: {existing}")
        runs = _search_all(client, exp.experiment_id)
        finished = {
            r.data.tags.get(schema.TAG_TRIAL_HASH) for r in runs if r.info.status == FINISHED
        }
        for run in runs:
            summary = run.data.tags.get(schema.TAG_SUMMARY)
            if _superseded(run, finished):
                continue
            if not summary:
                rows.append(_row(run, name))
            elif summary == SUMMARY_SKIPPED:
                entries = _skipped_entries(client, run)
                rows.extend(_skipped_row(e, run, name, i) for i, e in enumerate(entries))
    frame = pd.DataFrame(rows)
    for column in BASE_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    rest = sorted(c for c in frame.columns if c not in BASE_COLUMNS)
    return frame[BASE_COLUMNS + rest].reset_index(drop=True)


def read_results(path: Path) -> pd.DataFrame:
    """Read ``results.csv`` back with params and tags as text, as ``load_runs`` returns them."""
    header = pd.read_csv(path, nrows=0).columns
    text = {c: str for c in header if c.startswith((PARAMS, TAGS))}
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values={c: [""] for c in header})
