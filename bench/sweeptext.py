"""What a sweep prints: its skipped pairs in a line, and its summary (mean AUROC per detector
and dataset, counts, harness overhead, where the results are)."""

from __future__ import annotations

from typing import Any


def _names(names: list[str], shown: int = 4) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def pairs_text(skips: list[Any], shown: int = 8) -> str:
    """Skipped (detector, dataset) pairs in a line: as detectors x datasets when they are all
    the pairs of those, else the first few (the sweep's summary run lists every one)."""
    detectors = list(dict.fromkeys(s.detector for s in skips))
    datasets = list(dict.fromkeys(s.dataset for s in skips))
    if len(skips) > shown and len(skips) == len(detectors) * len(datasets):
        return f"detectors {_names(detectors)} on datasets {_names(datasets)}"
    pairs = [f"{s.detector} on {s.dataset}" for s in skips]
    rest = len(pairs) - shown
    more = f", and {rest} more (in the summary run)" if rest > 0 else ""
    return ", ".join(pairs[:shown]) + more


def print_summary(summary: Any, store: Any, workers: int) -> None:
    """The summary of a sweep that ran: its table, counts, failures and where to browse."""
    import pandas as pd

    if summary.auroc:
        rows = [
            {"detector": d, "dataset": ds, "auroc": sum(v) / len(v)}
            for (d, ds), v in summary.auroc.items()
        ]
        table = pd.DataFrame(rows).pivot(index="detector", columns="dataset", values="auroc")
        print("\nmean AUROC of this sweep's trials (detector x dataset):")
        print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    ran = summary.finished + len(summary.failed)
    print(
        f"\n{summary.planned} planned, {summary.already_done} already finished, "
        f"{summary.finished} finished now, {len(summary.failed)} failed, "
        f"{len(summary.skipped)} pair(s) skipped"
    )
    if ran:
        print(
            f"wall {summary.wall_seconds:.1f} s on {workers} worker(s), fit+score "
            f"{summary.busy_seconds:.1f} s, harness overhead {summary.overhead(workers):.1%}; "
            f"driver CPU {summary.driver_cpu_seconds:.1f} s (claims, results, MLflow writes)"
            + (f", {summary.preload_cpu_seconds:.1f} s before (detector code imported once "
               "for the forked workers)" if summary.preload_cpu_seconds >= 0.05 else "")
        )
    if summary.elsewhere:
        print(
            f"{summary.elsewhere} trial(s) were claimed by another sweep running on this "
            "experiment; that sweep records them"
        )
    for result in summary.failed:
        print(f"  FAILED {result.trial.run_name}: {result.error}")
    print(f"results: experiment {store.experiment!r} in {store.tracking_uri}")
    print(f"artifacts: {store.artifact_root}")
    print(f"browse:  mlflow ui --backend-store-uri {store.tracking_uri}")
    from bench.tracking.view import ui_url

    print(f"         then {ui_url(store.experiment_id)}")
