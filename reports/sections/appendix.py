"""The appendix: per score metric and dataset, normal class x detector, mean ± std over seeds."""

from __future__ import annotations

import pandas as pd

from core.metrics import SCORE_METRICS
from reports.analysis.context import Context
from reports.analysis.frames import class_cells, detector_order, finished
from reports.render.document import Document
from reports.render.grids import grid
from reports.render.table import Table


def write(doc: Document, ctx: Context) -> None:
    """Per score metric and dataset, normal class x detector (nothing when only memory
    suites ran)."""
    if ctx.memory_only:
        return
    runs = ctx.runs
    f = finished(runs)
    doc.add("## Appendix: per-class tables", "")
    if f.empty:
        doc.add("No finished runs.", "")
    for name, label in ((m.name, m.label) for m in SCORE_METRICS):
        for d in sorted(f.dropna(subset=[name])["dataset"].unique()):
            doc.add(
                f"### {label}, {d}",
                "",
                "Mean ± std over seeds per normal class.",
                "",
                class_table(runs, name, d).markdown(),
                "",
            )


def class_table(runs: pd.DataFrame, name: str, dataset: str) -> Table:
    """Normal class x detector for one dataset: mean ± std over seeds; best bold."""
    sub = class_cells(runs, name).xs(dataset, level="dataset")
    classes = sorted(sub.index.get_level_values("normal_class").unique(), key=_natural)
    return grid(sub, "normal class", classes, detector_order(runs))


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
