"""The ablation section (``bench report --group-by hp.lr``): one table per key, a row per
(detector, value of the key), a column per dataset and the mean over datasets; a cell is the
mean ± std over seeds of the AUROC, normal classes averaged per seed first
(``reports.analysis.ablation``)."""

from __future__ import annotations

import pandas as pd

from reports.analysis.ablation import grouped
from reports.analysis.context import Context
from reports.analysis.frames import MISSING
from reports.render.document import Document
from reports.render.table import Table


def write(doc: Document, ctx: Context) -> None:
    """One ablation table per ``--group-by`` key (nothing without)."""
    if not ctx.group_by:
        return
    doc.add("## Ablation", "")
    for key in ctx.group_by:
        t, col = table(ctx.runs, key)
        slug = "".join(ch if ch.isalnum() else "-" for ch in key).strip("-")
        doc.add(
            f"### AUROC by `{key}`",
            "",
            f"Column `{col}` of `results.csv`. A cell: mean ± std over seeds of the AUROC "
            "(normal classes averaged per seed); `mean`: over datasets (* when a dataset is "
            f"missing). Best value per detector in bold. {MISSING}: no finished run.",
            "",
        )
        doc.table(t, f"ablation-{slug}", f"AUROC by {key} (mean ± std over seeds).")


def table(runs: pd.DataFrame, key: str) -> tuple[Table, str]:
    """The ablation table for ``key`` and the column it read."""
    g = grouped(runs, key)
    cells, datasets = g.cells, g.datasets
    header = ["detector", key, *datasets, "mean"]
    rows: list[list[str]] = []
    bold: set[tuple[int, int]] = set()
    rules: set[int] = set()
    for detector, values in g.values.items():
        first = len(rows)
        if first:
            rules.add(first)
        means: dict[int, list[tuple[float, int]]] = {}
        for value in values:
            row = [detector, value]
            dataset_means = []
            for j, dataset in enumerate(datasets, start=2):
                if (detector, value, dataset) not in cells.index:
                    row.append(MISSING)
                    continue
                c = cells.loc[(detector, value, dataset)]
                dataset_means.append(c["mean"])
                std = "" if pd.isna(c["std"]) else f" ± {c['std']:.3f}"
                row.append(f"{c['mean']:.3f}{std}")
                means.setdefault(j, []).append((c["mean"], len(rows)))
            complete = len(dataset_means) == len(datasets)
            mean = sum(dataset_means) / len(dataset_means) if dataset_means else None
            row.append(MISSING if mean is None else f"{mean:.3f}" + ("" if complete else "*"))
            if mean is not None and complete:
                means.setdefault(len(datasets) + 2, []).append((mean, len(rows)))
            rows.append(row)
        if len(values) > 1:
            for j, entries in means.items():
                bold.add((max(entries)[1], j))
    return Table(header, rows, bold=bold, rules=rules), g.column
