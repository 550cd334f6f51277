"""Average ranks over blocks with the Friedman test and Nemenyi's critical difference per main
suite, and the best detector of each family (FF, BP, PyOD) compared pair by pair."""

from __future__ import annotations

import pandas as pd

from reports.analysis.context import Context
from reports.analysis.frames import MISSING, blocks, suites
from reports.analysis.paired import Paired, per_dataset_medians
from reports.analysis.ranking import Ranking, family_ranking, ranking
from reports.render.document import Document
from reports.render.formats import number, p_value, signed, statistic
from reports.render.plots import cd_diagram
from reports.render.table import Table
from reports.sections.verdict import controls_line


def _friedman_text(r: Ranking, what: str) -> str:
    k, n = r.matrix.shape[1], r.matrix.shape[0]
    text = (
        f"Unit: {r.unit}; {n} blocks, {k} {what}. Friedman χ² = {r.statistic:.3f}, "
        f"p = {p_value(r.pvalue)} (`scipy.stats.friedmanchisquare`, χ² approximation). "
        f"Nemenyi critical difference at α = {r.alpha}: CD = {r.cd:.3f} ranks "
        "(q_α/√2 · √(k(k+1)/(6N)), q from `scipy.stats.studentized_range`, N = blocks)."
    )
    avg = r.average
    spread = avg.max() - avg.min()
    if r.cd_spans_all:
        text += (
            f" The CD ({r.cd:.2f}) is at least the whole spread of average ranks "
            f"({spread:.2f}): no pair of {what} differs significantly at α = {r.alpha}."
        )
    else:
        text += f" Average ranks span {spread:.2f}."
    return text


def write(doc: Document, ctx: Context) -> None:
    if ctx.memory_only:
        return
    doc.add("## Average ranks and Friedman test", "", controls_line(ctx.groups), "")
    runs = ctx.runs
    main = suites(runs)
    for suite, datasets in main.items():
        if len(main) > 1:
            doc.add(f"### Suite {suite}", "")
        r = ranking(runs, datasets=datasets)
        if r.dropped_detectors or r.dropped_datasets:
            doc.add(
                "Left out to make the block × detector AUROC matrix complete: detectors "
                f"{', '.join(r.dropped_detectors) or MISSING}; blocks "
                f"{', '.join(r.dropped_datasets) or MISSING}.",
                "",
            )
        if r.reason:
            doc.add(f"No ranking: {r.reason}.", "")
            continue
        doc.add(_friedman_text(r, "detectors"), "")
        suffix = "" if len(main) == 1 else f"_{suite}"
        doc.table(
            rank_table(r),
            "ranks" + suffix,
            f"Average rank over blocks (dataset, normal class), suite {suite} (1 = best).",
        )
        cd_caption = (
            "Critical-difference diagram: detectors joined by a bar are not significantly "
            "different (Nemenyi over blocks)."
        )
        if r.cd_spans_all:
            cd_caption += " Here the CD spans every detector: no pair differs."
        doc.figure(cd_diagram(r, doc.out_dir / "figures", "cd_diagram" + suffix), cd_caption)
        _families(doc, runs, datasets, suffix)


def _families(doc: Document, runs: pd.DataFrame, datasets: list[str], suffix: str) -> None:
    """Best FF vs best BP vs best PyOD per block: few columns, so power with few blocks."""
    fr = family_ranking(runs, datasets)
    doc.add("#### Families: best FF, best BP, best PyOD", "")
    if fr is None:
        doc.add(
            "Fewer than two of the families ff, bp, pyod have a detector with results on "
            "every dataset of the suite.",
            "",
        )
        return
    doc.add(
        "The best detector of each family is chosen once, by mean AUROC over the suite's "
        "datasets (not per block, which would favour the family with most members): "
        + "; ".join(f"{f}: {d}" for f, d in fr.best.items())
        + ". "
        + (
            _friedman_text(fr.ranking, "families")
            if not fr.ranking.reason
            else f"No Friedman test: {fr.ranking.reason}."
        ),
        "",
        "Paired over blocks: two-sided Wilcoxon signed-rank test (`scipy.stats.wilcoxon`, "
        "zero differences dropped; exact null distribution when at most 50 non-zero, untied "
        "differences, normal approximation otherwise), Holm-adjusted over the family pairs; "
        "median difference with a 95% percentile bootstrap interval (10 000 resamples of "
        "blocks, seed 0); wins/losses/ties; median difference per dataset (sign flips show).",
        "",
    )
    b = blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(datasets)]
    rows = []
    for (x, y, p), adj in zip(fr.pairs, fr.holm, strict=True):
        per_ds = per_dataset_medians(pd.DataFrame({x: b[fr.best[x]], y: b[fr.best[y]]}), x, y)
        rows.append(paired_row(f"{x} − {y}", p, adj, per_ds))
    md, tex = paired_table(rows, datasets)
    doc.add(md.markdown(), "")
    doc.latex(
        [tex],
        "families" + suffix,
        f"Best detector per family, paired over n = {fr.pairs[0][2].n} blocks: median "
        "difference of AUROC with 95% bootstrap CI, Wilcoxon p (exact; ≈: normal "
        "approximation), Holm-adjusted p, wins/losses/ties.",
    )


def rank_table(r: Ranking) -> Table:
    """Average rank per detector over blocks (1 = best), best first and bold."""
    avg = r.average
    rows = [[d, number(v, 2)] for d, v in avg.items()]
    table = Table(["detector", "average rank"], rows)
    if len(avg):
        table.bold = {(i, 1) for i, v in enumerate(avg) if round(v, 2) == round(avg.iloc[0], 2)}
    return table


def paired_row(label: str, p: Paired, holm_p: float, per_dataset: pd.Series) -> dict[str, object]:
    """Cells of one paired comparison and its per-dataset medians."""
    return {
        "pair": label,
        "n": str(p.n),
        "median Δ [95% CI]": f"{signed(p.median_diff)} [{signed(p.ci_low)}, {signed(p.ci_high)}]",
        "W": statistic(p.statistic),
        "p": p_value(p.p) + ("" if p.method == "n/a" else f" ({p.method})"),
        "p Holm": p_value(holm_p),
        "W/L/T": f"{p.wins}/{p.losses}/{p.ties}",
        "per_dataset": per_dataset,
        "median": signed(p.median_diff),
        "ci": f"[{signed(p.ci_low)}, {signed(p.ci_high)}]",
        "p_only": p_value(p.p),
        "method": p.method,
    }


PAIRED_HEADER = ["pair", "n", "median Δ [95% CI]", "W", "p", "p Holm", "W/L/T"]


def paired_table(rows: list[dict[str, object]], datasets: list[str]) -> tuple[Table, Table]:
    """Markdown (with the median difference per dataset, where signs can flip) and LaTeX
    (without the per-dataset columns, which would not fit a column)."""
    md = Table(
        [*PAIRED_HEADER, *(f"median Δ {d}" for d in datasets)],
        [
            [str(r[h]) for h in PAIRED_HEADER]
            + [signed(r["per_dataset"].get(d, float("nan"))) for d in datasets]
            for r in rows
        ],
    )
    tex = Table(
        ["pair", "n", "median Δ", "95% CI", "p", "p Holm", "W/L/T"],
        [
            [
                str(r["pair"]),
                str(r["n"]),
                str(r["median"]),
                str(r["ci"]),
                ("" if r["method"] in ("exact", "n/a") else "≈") + str(r["p_only"]),
                str(r["p Holm"]),
                str(r["W/L/T"]),
            ]
            for r in rows
        ],
        spec="lrrlrrr",
        rotate={1, 2, 4, 5, 6},
        latex_drop={1},  # every pair has the same blocks: n goes in the caption
    )
    return md, tex
