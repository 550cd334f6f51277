"""Paper-ready reports (Markdown, LaTeX, figures) from the benchmark's MLflow runs."""

from reports.report import build_report, log_report, write_report
from reports.runs import load_runs, read_results

__all__ = ["build_report", "load_runs", "log_report", "read_results", "write_report"]
