"""Paper-ready reports (Markdown, LaTeX, figures) from the benchmark's MLflow runs.

Three layers: ``reports.analysis`` (the numbers) < ``reports.render`` (document, tables,
figures) < ``reports.sections`` (one module per section of the report), put together by
``reports.report``.
"""

from reports.analysis.ablation import UnknownGroupKey
from reports.analysis.runs import load_runs, read_results
from reports.report import build_report, log_report, write_report

__all__ = [
    "UnknownGroupKey",
    "build_report",
    "load_runs",
    "log_report",
    "read_results",
    "write_report",
]
