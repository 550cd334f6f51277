"""The trade-off section: per dataset a figure and a table per network of AUROC and peak
training memory as the network grows; FF against its twins per cell, paired over blocks;
sentences computed from those tests (``reports.analysis.tradeoff``)."""

from __future__ import annotations

import pandas as pd

from reports.analysis.context import Context
from reports.analysis.frames import MISSING, column
from reports.analysis.runs import param
from reports.analysis.tradeoff import (
    ALPHA,
    TWINS,
    Comparison,
    by_network,
    compare,
    table_cells,
    trade_runs,
)
from reports.render.document import Document, slug
from reports.render.formats import MIB, p_value, significant
from reports.render.study_plots import tradeoff
from reports.sections.tradeoff_tables import (
    cell_table,
    comparison_table,
    latex_parts,
    ratio_text,
    signed_rounded,
)


def write(doc: Document, ctx: Context) -> None:
    """The report section: per dataset a figure and a table per network; FF against its
    twins per cell, paired over blocks; sentences computed from those tests."""
    runs = ctx.runs
    t = trade_runs(runs)
    if t.empty:
        return  # no trade-off runs: nothing to say
    doc.add("## Trade-off study: peak training memory and AUROC as the network grows", "")
    c = table_cells(t)
    budget = _budget(runs, t)
    doc.add(
        f"Suites {', '.join(sorted(t['suite'].unique()))}: every detector on every (depth, "
        f"width) cell, {budget}. AUROC is each detector's declared rule (`auroc`: FF and "
        "bp `sum`, bpl `last`, untrained `sum`; every rule is in `results.csv` as "
        "`auroc.<rule>`); memory is the peak training memory during `fit` (meter "
        f"{', '.join(sorted(set(t['meter']) - {''})) or MISSING}; parameters allocated "
        "before the meter starts, the BLAS library's per-call scratch inside, the same for "
        "FF and its twins at one width; for the untrained control only its calibration). "
        "Aggregation: runs of one trial averaged, normal classes averaged per seed, then "
        "mean ± std (ddof=1) over seeds. The accuracy sections above leave this suite's "
        "runs out (a detector there is a grid of networks, not one).",
        "",
    )
    comparisons = compare(t)
    if comparisons:
        doc.add("In words (computed from the tests below):", "", *summary(comparisons), "")
    for dataset in sorted(c["dataset"].unique()):
        doc.add(f"### {dataset}", "")
        doc.figure(
            tradeoff(c, dataset, doc.out_dir / "figures"),
            f"{dataset}: AUROC against peak training memory (log), mean over seeds; one "
            "line per family following depth (larger marker: deeper); one panel per "
            "objective and width. The untrained control (memory: calibration only) is in "
            "the tables.",
        )
        g = c[c["dataset"] == dataset]
        for objective, arch in sorted(
            g[["objective", "arch"]].drop_duplicates().itertuples(index=False, name=None)
        ):
            md, tex = cell_table(c, dataset, objective, arch)
            doc.add(f"{objective}-{arch}, mean ± std over seeds:", "", md.markdown(), "")
            doc.latex(
                [tex],
                f"tradeoff_{slug(dataset)}_{slug(objective)}_{arch}",
                f"Trade-off on {dataset}, {objective}-{arch}: AUROC and peak training memory "
                "(MiB) per depth and width, mean over seeds (std in report.md).",
            )
    if comparisons:
        doc.add(
            "### FF against its backprop twins, cell by cell",
            "",
            "FF memory: FF's mean peak training memory as a fraction of the twin's (blocks "
            "both have, seeds averaged); MiB saved: the twin's mean peak minus FF's, in which "
            "a cost both pay alike (the BLAS library's per-call scratch) cancels. Δ AUROC: "
            "median over blocks (dataset, normal class; "
            "seeds averaged first) of FF − twin; p: two-sided Wilcoxon signed-rank test "
            f"(≈: normal approximation), Holm-corrected over the {len(comparisons)} tests; "
            f"* marks p Holm < {ALPHA}. With n blocks, no two-sided exact test can reach "
            "p below 2/2ⁿ.",
            "",
        )
        table = comparison_table(comparisons)
        doc.add(table.markdown(), "")
        parts = latex_parts(table)
        doc.latex(
            parts,
            "tradeoff_twins",
            [
                f"{p.rows[0][0]}: FF against each backprop twin per (depth, width): FF's "
                "share of the twin's memory, median AUROC difference over blocks (their "
                f"number n in report.md), Wilcoxon p and Holm's p over all {len(comparisons)} "
                "tests (*: below 0.05)."
                for p in parts
            ],
        )


def _budget(runs: pd.DataFrame, t: pd.DataFrame) -> str:
    """The training budget the runs logged (batch size, step cap, optimizer steps taken)."""
    trained = t[t["prefix"] != "untrained"]
    if trained.empty:
        return "no trained detector"
    steps = trained["n_steps"].dropna() if "n_steps" in trained else pd.Series(dtype=float)
    caps = column(runs, param("hp.max_steps")).reindex(trained.index).dropna()
    batch = sorted(set(trained["batch_size"].dropna()))
    out = f"batch size {', '.join(f'{b:g}' for b in batch) or MISSING}"
    if len(caps):
        out += f", at most {', '.join(sorted(set(caps.astype(str))))} optimizer steps"
    if len(steps):
        out += (
            f" (taken: {steps.min():g}–{steps.max():g})"
            if steps.nunique() > 1
            else (f" (taken: {steps.iloc[0]:g} in every trained run)")
        )
    return out


def _cell_text(c: Comparison) -> str:
    r = c.result
    return (
        f"FF uses {ratio_text(c.memory_ratio)} of {c.twin}'s peak training memory "
        f"({significant(c.ff_memory / MIB, 3)} vs {significant(c.twin_memory / MIB, 3)} MiB) "
        f"at {signed_rounded(r.median_diff)} AUROC (median over n = {r.n} blocks, p = "
        f"{p_value(r.p)}, Holm {p_value(c.p_holm)})"
    )


def summary(comparisons: list[Comparison]) -> list[str]:
    """Sentences: the largest cell of each network against each twin, then where FF's
    saving costs accuracy (Holm-significant loss), where it gains, and where it does not
    differ."""
    if not comparisons:
        return []
    lines = []
    for (objective, arch), group in by_network(comparisons).items():
        depth = max(c.depth for c in group)
        width = max(c.width for c in group if c.depth == depth)
        top = [c for c in group if c.depth == depth and c.width == width]
        lines.append(
            f"- {objective}-{arch}, at depth {depth:g}, width {width:g}: "
            + "; ".join(f"against {c.twin}, {_cell_text(c)}" for c in top)
            + "."
        )
        for twin in TWINS:
            mine = [c for c in group if c.twin == twin]
            if not mine:
                continue
            cost = [c for c in mine if c.costs_accuracy]
            gain = [c for c in mine if c.gains_accuracy]
            lines.append(
                f"- {objective}-{arch} against {twin}: of {len(mine)} cells, FF is "
                f"significantly (Holm-corrected p < {ALPHA}) less accurate in {len(cost)} "
                f"({_cells(cost)}), more accurate in {len(gain)} ({_cells(gain)}) and not "
                f"significantly different in {len(mine) - len(cost) - len(gain)}; its "
                f"memory is below {twin}'s in {sum(c.memory_ratio > 1 for c in mine)} of "
                f"{len(mine)} cells."
            )
    return lines


def _cells(group: list[Comparison]) -> str:
    if not group:
        return "none"
    return ", ".join(
        f"{c.depth:g}×{c.width:g} ({signed_rounded(c.result.median_diff)})" for c in group
    )
