"""The report's section on stream experiments (the online protocol, ``bench.prequential``).

Every number comes from the run table (``results.csv``): prequential AUROC per dataset, the
cost per sample (score and update time, throughput, peak heap of the test-then-train loop),
windowed AUROC curves of the drift stream (logged as ``auroc_window.<i>`` beside the step
metric), and the paired FF-versus-twin differences over blocks (dataset, scenario) with seeds
averaged first and Holm's correction, as the batch report pairs them (``reports.paired``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import schema
from reports import paired, stats, tables
from reports.figures import _new, _save
from reports.tables import MISSING, Table

DRIFT_DATASET = "stream-drift-digits"
FF_FAMILY, TWIN_FAMILIES, BASELINE_FAMILY = "ff-online", ("bp-online", "bpl-online"), "river"
_WINDOW = re.compile(rf"^{re.escape(schema.METRIC_STREAM_AUROC_WINDOW)}\.(\d+)$")


def stream_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished stream runs (those that logged a throughput), short column names."""
    f = stats.finished(runs)
    key = schema.METRIC_STREAM_THROUGHPUT
    if key not in f:
        return f.iloc[0:0]
    return f[pd.to_numeric(f[key], errors="coerce").notna()]


def _order(s: pd.DataFrame) -> list[str]:
    rank = {FF_FAMILY: 0, TWIN_FAMILIES[0]: 1, TWIN_FAMILIES[1]: 2, BASELINE_FAMILY: 3}
    pairs = s[["detector", "family"]].drop_duplicates()
    return [
        d for d, _ in sorted(pairs.itertuples(index=False), key=lambda p: (rank.get(p[1], 9), p[0]))
    ]


def _seed_means(s: pd.DataFrame, name: str) -> pd.DataFrame:
    """(detector, dataset, seed) -> ``name`` averaged over repeated runs, then scenarios."""
    t = s.dropna(subset=[name]).groupby(stats.TRIAL_KEYS, as_index=False)[name].mean()
    return t.groupby(["detector", "dataset", "seed"], as_index=False)[name].mean()


def auroc_table(s: pd.DataFrame, order: list[str]) -> Table:
    """Dataset x detector prequential AUROC, mean ± std over seeds (scenarios averaged per
    seed), best per row in bold; last row: the mean over datasets."""
    v = _seed_means(s, "auroc")
    g = v.groupby(["dataset", "detector"])["auroc"]
    mean, std = g.mean().unstack(), g.std(ddof=1).unstack()
    rows, bold = [], set()
    for i, d in enumerate(mean.index):
        cells = [
            tables.mean_std(mean.at[d, k], std.at[d, k])
            if k in mean and pd.notna(mean.at[d, k])
            else MISSING
            for k in order
        ]
        rows.append([d, *cells])
        values = [mean.at[d, k] if k in mean else np.nan for k in order]
        if not all(pd.isna(values)):
            bold.add((i, 1 + int(np.nanargmax(values))))
    overall = mean.reindex(columns=order).mean(0)
    rows.append(["mean over datasets", *(tables.number(x) for x in overall)])
    return Table(["dataset", *order], rows, bold=bold, rotate=set(range(1, len(order) + 1)))


def cost_table(s: pd.DataFrame, order: list[str]) -> Table:
    """Per detector, means over every finished stream run: score and update microseconds per
    sample, throughput (samples/s) and the peak heap of the stream loop (KiB)."""
    cols = [
        (schema.METRIC_STREAM_SCORE_PER_SAMPLE, "score µs/sample", 1e6),
        (schema.METRIC_STREAM_UPDATE_PER_SAMPLE, "update µs/sample", 1e6),
        (schema.METRIC_STREAM_THROUGHPUT, "samples/s", 1.0),
        (schema.METRIC_PEAK_TRAIN_MEM, "peak heap KiB", 1 / 1024),
    ]
    rows = []
    for det in order:
        part = s[s["detector"] == det]
        cells = []
        for key, _, scale in cols:
            x = pd.to_numeric(part[key], errors="coerce").mean() if key in part else np.nan
            cells.append(tables.significant(x * scale) if pd.notna(x) else MISSING)
        rows.append([det, *cells, str(len(part))])
    return Table(["detector", *(c[1] for c in cols), "runs"], rows)


def drift_curves(s: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Windowed AUROC of the drift stream: rows window index, columns detector, the mean over
    scenarios and seeds; and the mean position of the change (scored samples)."""
    d = s[s["dataset"] == DRIFT_DATASET]
    cols = {int(m.group(1)): c for c in d.columns if (m := _WINDOW.match(str(c)))}
    if d.empty or not cols:
        return pd.DataFrame(), float("nan")
    long = d[["detector", *cols.values()]].rename(columns={v: k for k, v in cols.items()})
    curves = long.groupby("detector").mean(numeric_only=True).T.sort_index()
    at = schema.METRIC_STREAM_DRIFT_AT
    drift = float(pd.to_numeric(d[at], errors="coerce").mean()) if at in d else float("nan")
    return curves, drift


def best_baseline(s: pd.DataFrame, dataset: str | None = None) -> str | None:
    """The streaming baseline with the highest mean AUROC (on ``dataset``, or on all)."""
    b = s[s["family"] == BASELINE_FAMILY]
    if dataset is not None:
        b = b[b["dataset"] == dataset]
    if b.empty:
        return None
    return str(b.groupby("detector")["auroc"].mean().idxmax())


def drift_figure(curves: pd.DataFrame, drift: float, shown: list[str], out_dir: Path) -> list[Path]:
    from bench.prequential import WINDOW, WINDOW_STRIDE

    fig = _new(5.0, 3.0)
    ax = fig.add_subplot()
    x = curves.index.to_numpy() * WINDOW_STRIDE + WINDOW / 2
    for det in shown:
        if det in curves:
            ax.plot(x, curves[det].to_numpy(), marker="o", label=det)
    if np.isfinite(drift):
        ax.axvline(drift, color="grey", linestyle="--", linewidth=1)
        ax.annotate(
            "normal class changes",
            (drift, 0.02),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color="grey",
            ha="left",
        )
    ax.set_xlabel(f"scored samples (centre of a {WINDOW}-sample window)")
    ax.set_ylabel("windowed AUROC")
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "stream_drift_auroc")


def twin_differences(s: pd.DataFrame) -> list[tuple[str, str, paired.Paired]]:
    """FF online detector minus each twin, over blocks (dataset, scenario), seeds averaged."""
    values = s.groupby(stats.TRIAL_KEYS, as_index=False)["auroc"].mean()
    blocks = paired.block_values(values, "auroc")
    out = []
    for ff in sorted(s.loc[s["family"] == FF_FAMILY, "detector"].unique()):
        twins = s[(s["twin"] == ff) & s["family"].isin(TWIN_FAMILIES)]["detector"].unique()
        for twin in sorted(twins):
            if ff in blocks and twin in blocks:
                out.append((ff, twin, paired.compare(blocks, ff, twin)))
    return out


def section(doc: Any, runs: pd.DataFrame) -> None:
    """Add the stream section to ``doc`` (``reports.report._Doc``); nothing without stream
    runs."""
    s = stream_runs(runs)
    if s.empty:
        return
    order = _order(s)
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
    doc.table(auroc_table(s, order), "stream_auroc", "Prequential AUROC on the streams.")
    doc.add(
        "### Cost per sample",
        "",
        "Means over every finished stream run: scoring and updating time per scored sample "
        "(measured apart; FF's forward pass counts as scoring), throughput (scored samples "
        "over the wall time of the test-then-train loop) and the peak heap of that loop "
        f"(meters: {', '.join(sorted(set(s['meter']) - {''})) or MISSING}).",
        "",
    )
    doc.table(cost_table(s, order), "stream_cost", "Time and memory per sample on the streams.")
    curves, drift = drift_curves(s)
    doc.add("### Drift stream", "")
    if curves.empty:
        doc.add(f"No finished run on `{DRIFT_DATASET}` logged windowed AUROC.", "")
    else:
        best = best_baseline(s, DRIFT_DATASET)
        shown = [d for d in order if s.loc[s["detector"] == d, "family"].iloc[0] != BASELINE_FAMILY]
        shown += [best] if best else []
        doc.figure(
            drift_figure(curves, drift, shown, doc.out_dir / "figures"),
            f"Windowed AUROC on {DRIFT_DATASET} (normal class a, then b), mean over scenarios "
            f"and seeds: FF online, its twins and the best streaming baseline there ({best}); "
            "dashed: mean position of the change",
        )
    doc.add("### FF online versus its backprop twins", "")
    diffs = twin_differences(s)
    if not diffs:
        doc.add("No FF online detector with a twin's runs on the same blocks.", "")
        return
    holm = paired.holm([p.p for _, _, p in diffs])
    rows = [
        [
            f"{ff} − {twin}",
            str(p.n),
            tables.number(p.median_diff),
            f"[{tables.number(p.ci_low)}, {tables.number(p.ci_high)}]",
            f"{p.wins}/{p.losses}/{p.ties}",
            tables.p_value(p.p),
            tables.p_value(h),
        ]
        for (ff, twin, p), h in zip(diffs, holm, strict=True)
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
    for (ff, twin, p), h in zip(diffs, holm, strict=True):
        verdict = (
            f"differs (Holm p = {tables.p_value(h)})"
            if paired.is_significant(h)
            else f"no difference detected (Holm p = {tables.p_value(h)})"
        )
        words.append(
            f"- {ff} against {twin}: median difference {tables.number(p.median_diff)} over "
            f"{p.n} blocks, {verdict}."
        )
    doc.add("In words:", "", *words, "")
