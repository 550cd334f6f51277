"""Write the report directory (results.csv, report.md, tables/, figures/) and log it to MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from core import schema
from reports.analysis.context import Context
from reports.analysis.runs import load_runs
from reports.render.document import Document
from reports.sections import SECTIONS

RESULTS = "results.csv"
REPORT = "report.md"
SUMMARY_REPORT = "report"
DEFAULT_TITLE = "Forward-Forward one-class benchmark"


def write_report(
    runs: pd.DataFrame, out_dir: Path, *, title: str = DEFAULT_TITLE, group_by: tuple = ()
) -> Path:
    """Write results.csv, report.md, tables/*.tex and figures/* into ``out_dir``: the title,
    then every section of ``reports.sections.SECTIONS`` in order.

    Returns the path of report.md. Every number in it is recomputable from results.csv.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out_dir / RESULTS, index=False)
    doc = Document(out_dir)
    doc.add(
        f"# {title}",
        "",
        f"All numbers below are computed from `{RESULTS}` (one row per MLflow run).",
        "",
    )
    ctx = Context(runs, tuple(group_by))
    for section in SECTIONS:
        section.write(doc, ctx)
    path = out_dir / REPORT
    path.write_text("\n".join(doc.lines))
    return path


def log_report(out_dir: Path, experiment: str, tracking_uri: str | None = None) -> str:
    """Log ``out_dir`` as the artifacts of a run tagged ``bench.summary=report``; its run id."""
    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise ValueError(f"no MLflow experiment named {experiment!r}")
    run = client.create_run(
        exp.experiment_id, run_name="report", tags={schema.TAG_SUMMARY: SUMMARY_REPORT}
    )
    client.log_artifacts(run.info.run_id, str(out_dir))
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def build_report(
    experiments: list[str],
    tracking_uri: str | None,
    out_dir: Path,
    log: bool = True,
    group_by: tuple | list = (),
) -> Path:
    """Load the experiments' runs, write the report; with ``log``, attach it to each experiment."""
    runs = load_runs(experiments, tracking_uri)
    path = write_report(runs, Path(out_dir), group_by=tuple(group_by))
    if log:
        for name in experiments:
            log_report(Path(out_dir), name, tracking_uri)
    return path
