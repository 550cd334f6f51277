"""The metric sections: per score metric (``core.metrics.SCORE_METRICS``) and main suite,
detectors (rows, grouped by family) x datasets, the mean over datasets (the report's one mean)
and the average rank over blocks, in Markdown (mean ± std) and LaTeX (means, split to fit)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.metrics import SCORE_METRICS, ScoreMetric
from reports.analysis.context import Context
from reports.analysis.frames import (
    MISSING,
    STUDY_SUITES,
    TUNING_PREFIX,
    cells,
    chance_share,
    detector_order,
    families,
    finished,
    mean_over_datasets,
    suites,
)
from reports.analysis.ranking import Ranking, block_matrix, friedman
from reports.analysis.runs import FINISHED
from reports.render.document import Document
from reports.render.formats import BELOW_CHANCE, INCOMPLETE, mean_std, number
from reports.render.grids import bold_best_columns, column_parts, family_rules
from reports.render.table import Table

AGGREGATION = (
    "Aggregation: runs of one trial (detector, dataset, normal class, seed) are averaged, then "
    "normal classes are averaged per seed, then mean ± sample std (ddof=1) over seeds. Only "
    f"{FINISHED} runs outside the study suites ({', '.join(STUDY_SUITES)}) and off the tuning "
    f"sets ({TUNING_PREFIX}*) count. "
    "Column `mean`: the mean over the suite's datasets of the per-dataset means (for AUROC "
    "this is the report's one definition of mean AUROC, used by every table). Rank: "
    "average rank over blocks (dataset, normal class; seeds averaged), 1 = best, among the "
    "detectors with every block of the suite. Best per column in bold; "
    f"{INCOMPLETE} marks a cell missing some of the dataset's (normal class, seed) "
    f"trials, or a mean missing a dataset; {BELOW_CHANCE} marks a value below chance; "
    f"{MISSING} means no finished trial. Rows are grouped by family."
)


def chance_text() -> str:
    """Every score metric's chance level, from the metric table (for AUROC and AUPRC: "a
    random scorer has AUROC 0.5 on every split, and AUPRC equal to the test set's anomaly
    share (the `chance` row of the AUPRC table, averaged like a cell)")."""
    parts = [
        f"{m.label} {m.chance:g} on every split"
        if m.chance is not None
        else f"{m.label} equal to the test set's anomaly share (the `chance` row of the "
        f"{m.label} table, averaged like a cell)"
        for m in SCORE_METRICS
    ]
    body = ", ".join(parts[:-1]) + ", and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"Chance levels: a random scorer has {body}."


def write(doc: Document, ctx: Context) -> None:
    """A section per score metric; one line instead when only memory suites ran."""
    if ctx.memory_only:
        memory = ctx.memory_suites
        doc.add(
            f"This report holds only the {', '.join(f'`{s}`' for s in memory)} "
            f"suite{'s' if len(memory) > 1 else ''} (memory and time studies): their runs "
            "enter no accuracy table, so those sections are left out.",
            "",
        )
        return
    for m in SCORE_METRICS:
        _metric(doc, ctx.runs, m)


def _metric(doc: Document, runs: pd.DataFrame, m: ScoreMetric) -> None:
    name, label = m.name, m.label
    doc.add(f"## {label}", "")
    if not finished(runs)[name].notna().any():
        doc.add(f"No finished run logged {name}.", "")
        return
    doc.add(AGGREGATION, "", chance_text(), "")
    parts = metric_tables(runs, m)
    latex, captions = [], []
    chance = m.chance_text() + (" (last row)" if m.chance is None else "")
    for p in parts:
        doc.add(f"### {label}, suite {p.suite}", "", p.markdown.markdown(), "")
        for k, t in enumerate(p.latex):
            more = f", part {k + 1} of {len(p.latex)}" if len(p.latex) > 1 else ""
            latex.append(t)
            captions.append(
                f"{label}, suite {p.suite}{more}: mean over seeds (normal classes averaged "
                "first), mean over datasets, average rank over blocks (1 = best). Bold: best "
                f"per column; dagger: incomplete; double dagger: below chance ({chance})."
            )
    doc.latex(latex, name, captions)
    doc.add(
        f"LaTeX: `tables/{name}.tex`, detectors as rows, means only (std over seeds is in "
        "the tables above); a suite whose datasets do not fit one column is split into "
        "full-width parts.",
        "",
    )


MEAN = "mean"
RANK = "rank"


@dataclass
class MetricTables:
    """One suite of a metric: the Markdown table (mean ± std) and LaTeX tables (means) that
    split the datasets into column-sized groups."""

    suite: str
    datasets: list[str]
    markdown: Table
    latex: list[Table]
    ranking: Ranking


def metric_tables(runs: pd.DataFrame, m: ScoreMetric) -> list[MetricTables]:
    """Per main suite: detectors (rows, grouped by family) x datasets (columns), then the mean
    over datasets (THE mean of the report) and the average rank over blocks.

    Best per column in bold; † = missing some trials (a cell) or datasets (the mean);
    ‡ = worse than chance (``m.chance``, or the dataset's test anomaly share: a ``chance`` row).
    """
    name, sign = m.name, 1.0 if m.higher_is_better else -1.0
    c = cells(runs, name)
    dets = detector_order(runs)
    fam = families(runs)
    chance = chance_share(runs) if m.chance is None else None
    out = []
    for suite, datasets in suites(runs).items():
        means = mean_over_datasets(c, datasets)
        rk = friedman(sign * block_matrix(runs, name, datasets))
        avg = rk.average
        suite_dets = [
            d for d in dets if d in means.index or any((x, d) in c.index for x in datasets)
        ]
        md_rows, tex_rows, values = [], [], []
        for d in suite_dets:
            md_row, tex_row, vrow = [d], [d], []
            for ds in datasets:
                ch = m.chance if chance is None else float(chance.get(ds, float("nan")))
                if (ds, d) in c.index:
                    r = c.loc[(ds, d)]
                    mark = ("" if r["complete"] else INCOMPLETE) + (
                        BELOW_CHANCE if sign * r["mean"] < sign * ch else ""
                    )
                    md_row.append(mean_std(r["mean"], r["std"]) + mark)
                    tex_row.append(number(r["mean"]) + mark)
                    vrow.append(float(r["mean"]))
                else:
                    md_row.append(MISSING)
                    tex_row.append(MISSING)
                    vrow.append(float("nan"))
            if d in means.index:
                mean = means.loc[d]
                mark = "" if mean["complete"] else INCOMPLETE
                md_row.append(number(mean["mean"]) + mark)
                tex_row.append(number(mean["mean"]) + mark)
                vrow.append(float(mean["mean"]) if mean["complete"] else float("nan"))
            else:
                md_row.append(MISSING)
                tex_row.append(MISSING)
                vrow.append(float("nan"))
            rank = float(avg.get(d, float("nan")))
            md_row.append(number(rank, 2))
            tex_row.append(number(rank, 1))
            md_rows.append(md_row)
            tex_rows.append(tex_row)
            values.append(vrow)
        header = ["detector", *datasets, MEAN, RANK]
        md = Table(header, md_rows, rules=family_rules(suite_dets, fam))
        bold_best_columns(md, values, 1, lowest=not m.higher_is_better)
        ranks = [[float(avg.get(d, float("nan")))] for d in suite_dets]
        bold_best_columns(md, [[round(r[0], 2)] for r in ranks], len(datasets) + 2, lowest=True)
        if chance is not None:
            md.rows.append(
                ["chance", *(number(chance.get(ds, float("nan"))) for ds in datasets), "", ""]
            )
            md.rules.add(len(md.rows) - 1)
        rows = [*tex_rows, md.rows[-1]] if chance is not None else tex_rows
        latex = column_parts(Table(header, rows, bold=set(md.bold), rules=set(md.rules)))
        out.append(MetricTables(suite, datasets, md, latex, rk))
    return out
