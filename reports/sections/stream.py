"""The stream section (the online protocol): prequential AUROC per dataset, the cost per
sample, windowed AUROC on the drift stream, and FF online against its backprop twins paired over
blocks (``reports.analysis.stream``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.analysis.context import Context
from reports.analysis.frames import MISSING
from reports.analysis.paired import holm, is_significant
from reports.analysis.stream import (
    BASELINE_FAMILY,
    COST,
    DRIFT_DATASET,
    auroc_cells,
    best_baseline,
    cost,
    drift_curves,
    order,
    stream_runs,
    twin_differences,
    window,
)
from reports.render.document import Document
from reports.render.formats import mean_std, number, p_value, significant
from reports.render.study_plots import drift
from reports.render.table import Table


def write(doc: Document, ctx: Context) -> None:
    """Nothing without stream runs."""
    runs = ctx.runs
    s = stream_runs(runs)
    if s.empty:
        return
    detectors = order(s)
    doc.add(
        "## Online (streaming) protocol",
        "",
        "Prequential (test-then-train): each stream is z-scored with its warm-up prefix's "
        "statistics only; the warm-up initialises the detectors and is not scored; then each "
        "mini-batch is scored by the detector as it stands and then learned. Labels never "
        "reach a detector; the stream holds anomalies. AUROC and AUPRC are over every scored "
        'sample (README, "Online (streaming) protocol").',
        "",
        "### Prequential AUROC",
        "",
        "Mean ± std over seeds (scenarios, i.e. normal classes or drift pairs, averaged per "
        "seed first); best per dataset in bold.",
        "",
    )
    doc.table(auroc_table(s, detectors), "stream_auroc", "Prequential AUROC on the streams.")
    doc.add(
        "### Cost per sample",
        "",
        "Means over every finished stream run: scoring and updating time per scored sample "
        "(measured apart; FF's forward pass counts as scoring), throughput (scored samples "
        "over the wall time of the test-then-train loop) and the peak heap of that loop "
        f"(meters: {', '.join(sorted(set(s['meter']) - {''})) or MISSING}).",
        "",
    )
    doc.table(cost_table(s, detectors), "stream_cost", "Time and memory per sample on the streams.")
    curves, at = drift_curves(s)
    size_stride = window(runs, s)
    doc.add("### Drift stream", "")
    if curves.empty or size_stride is None:
        doc.add(f"No finished run on `{DRIFT_DATASET}` logged windowed AUROC.", "")
    else:
        best = best_baseline(s, DRIFT_DATASET)
        family = s.groupby("detector")["family"].first()
        shown = [d for d in detectors if family[d] != BASELINE_FAMILY]
        shown += [best] if best else []
        doc.figure(
            drift(curves, at, size_stride, shown, doc.out_dir / "figures"),
            f"Windowed AUROC on {DRIFT_DATASET} (normal class a, then b), mean over scenarios "
            f"and seeds: FF online, its twins and the best streaming baseline there ({best}); "
            "dashed: mean position of the change",
        )
    doc.add("### FF online versus its backprop twins", "")
    diffs = twin_differences(s)
    if not diffs:
        doc.add("No FF online detector with a twin's runs on the same blocks.", "")
        return
    adjusted = holm([p.p for _, _, p in diffs])
    rows = [
        [
            f"{ff} − {twin}",
            str(p.n),
            number(p.median_diff),
            f"[{number(p.ci_low)}, {number(p.ci_high)}]",
            f"{p.wins}/{p.losses}/{p.ties}",
            p_value(p.p),
            p_value(h),
        ]
        for (ff, twin, p), h in zip(diffs, adjusted, strict=True)
    ]
    doc.add(
        "Prequential AUROC, FF minus twin, over blocks (dataset, scenario) with seeds "
        "averaged first; Wilcoxon signed-rank (two-sided), 95% bootstrap CI of the median, "
        "Holm-adjusted over the comparisons of this table.",
        "",
    )
    doc.table(
        Table(["comparison", "blocks", "median diff", "95% CI", "W/L/T", "p", "p (Holm)"], rows),
        "stream_twins",
        "FF online against its backprop twins on the streams (paired over blocks).",
    )
    words = []
    for (ff, twin, p), h in zip(diffs, adjusted, strict=True):
        verdict = (
            f"differs (Holm p = {p_value(h)})"
            if is_significant(h)
            else f"no difference detected (Holm p = {p_value(h)})"
        )
        words.append(
            f"- {ff} against {twin}: median difference {number(p.median_diff)} over "
            f"{p.n} blocks, {verdict}."
        )
    doc.add("In words:", "", *words, "")


def auroc_table(s: pd.DataFrame, order: list[str]) -> Table:
    """Dataset x detector prequential AUROC, mean ± std over seeds (scenarios averaged per
    seed), best per row in bold; last row: the mean over datasets."""
    mean, std = auroc_cells(s)
    rows, bold = [], set()
    for i, d in enumerate(mean.index):
        cells = [
            mean_std(mean.at[d, k], std.at[d, k])
            if k in mean and pd.notna(mean.at[d, k])
            else MISSING
            for k in order
        ]
        rows.append([d, *cells])
        values = [mean.at[d, k] if k in mean else np.nan for k in order]
        if not all(pd.isna(values)):
            bold.add((i, 1 + int(np.nanargmax(values))))
    overall = mean.reindex(columns=order).mean(0)
    rows.append(["mean over datasets", *(number(x) for x in overall)])
    return Table(["dataset", *order], rows, bold=bold, rotate=set(range(1, len(order) + 1)))


def cost_table(s: pd.DataFrame, order: list[str]) -> Table:
    """Per detector, means over every finished stream run: score and update microseconds per
    sample, throughput (samples/s) and the peak heap of the stream loop (KiB)."""
    rows = []
    for det in order:
        cells = [significant(x) if pd.notna(x) else MISSING for x in cost(s, det)]
        rows.append([det, *cells, str(int((s["detector"] == det).sum()))])
    return Table(["detector", *(c[1] for c in COST), "runs"], rows)
