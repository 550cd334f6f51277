"""Cost versus accuracy: each detector's mean AUROC against its peak training memory and fit
time, with the Pareto fronts, and the AUROC of every block."""

from __future__ import annotations

import pandas as pd

from reports.analysis.context import Context
from reports.analysis.cost import cost as cost_of
from reports.analysis.frames import (
    blocks,
    detector_order,
    families,
    family_rank,
    finished,
    twin_map,
)
from reports.render.document import Document
from reports.render.formats import number, significant, values
from reports.render.grids import family_rules
from reports.render.plots import auroc_points, fit_time_vs_auroc, memory_vs_auroc
from reports.render.table import Table, name_spec

MEAN_AUROC = (
    "Mean AUROC (one definition in every table): the mean over datasets of the per-dataset "
    "mean, where a per-dataset value averages normal classes per seed and then seeds."
)


def write(doc: Document, ctx: Context) -> None:
    if ctx.memory_only:
        return
    runs = ctx.runs
    doc.add("## Cost versus accuracy", "")
    cost = cost_of(runs)
    if cost.empty:
        doc.add("No finished run with an AUROC.", "")
        return
    meters = values(cost["meter"])
    doc.add(
        MEAN_AUROC + f" Here over all {finished(runs)['dataset'].nunique()} datasets of the main "
        "suites. Memory: mean over finished runs of peak training memory (MiB, meter "
        f"{meters}); fit time: mean over finished runs (s). Pareto M (T): no other detector "
        "has less or equal memory (fit time) with higher or equal mean AUROC, one of them "
        "strictly.",
        "",
    )
    fam = families(runs)
    doc.table(
        cost_table(cost, fam),
        "cost",
        f"Mean AUROC over datasets against peak training memory ({meters}) and fit time; "
        "Pareto-optimal in memory (M) or time (T).",
    )
    twins = twin_map(runs)
    if cost["peak_train_mem_bytes"].notna().any():
        doc.figure(
            memory_vs_auroc(cost, fam, twins, doc.out_dir / "figures"),
            f"Mean AUROC against peak training memory (meters: {meters}), coloured by family; "
            "thin lines join an FF detector to its twins; Pareto front dashed and labelled.",
        )
    else:
        doc.add("No run logged peak training memory: no memory figure.", "")
    if cost["fit_seconds"].notna().any():
        doc.figure(
            fit_time_vs_auroc(cost, fam, twins, doc.out_dir / "figures"),
            "Mean AUROC against fit time, coloured by family; thin lines join an FF detector "
            "to its twins; Pareto front dashed and labelled.",
        )
    else:
        doc.add("No run logged fit time: no fit-time figure.", "")
    doc.add("### AUROC per block", "")
    doc.figure(
        auroc_points(blocks(runs), detector_order(runs), fam, doc.out_dir / "figures"),
        "AUROC of every block (dataset, normal class; seeds averaged), one marker per dataset; "
        "dotted: chance (0.5).",
    )


def cost_table(cost: pd.DataFrame, fam: pd.Series) -> Table:
    """Mean AUROC over datasets against mean peak training memory (MiB, 4 significant
    digits) and fit time (s, 3 significant digits), rows grouped by family; Pareto flags
    M (memory) and T (time)."""
    order = sorted(cost.index, key=lambda d: (family_rank(fam.get(d, "")), d))
    rows = []
    for d in order:
        r = cost.loc[d]
        flags = ("M" if r["pareto_memory"] else "") + ("T" if r["pareto_time"] else "")
        rows.append(
            [
                d,
                number(r["auroc"]),
                significant(r["peak_train_mem_bytes"] / 2**20, 4),
                significant(r["fit_seconds"], 3),
                flags,
            ]
        )
    return Table(
        ["detector", "mean AUROC", "memory MiB", "fit s", "Pareto"],
        rows,
        rules=family_rules(order, fam),
        spec=name_spec(order) + "rrrl",
        rotate={1, 2, 3, 4},
    )
