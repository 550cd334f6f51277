"""Figures drawn at their printed size: one column (3.3 in) wide, or 7.1 in where a figure
deliberately spans both columns; text 8 pt; the Okabe-Ito colour-blind-safe palette with a
marker shape per family, so no distinction rests on colour alone. Each saved as PNG and PDF.

``OVERLAPS`` records, per figure saved, the pairs of text labels whose boxes overlap (the
tests require none).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from reports import stats

COLUMN_WIDTH_IN = 3.3
TEXT_WIDTH_IN = 7.1
FONT_PT = 8
STYLE = {
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "axes.linewidth": 0.6,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FAMILY_STYLE = {
    "ff": ("#0072B2", "o", "-"),
    "bp": ("#D55E00", "s", "--"),
    "bpl": ("#E69F00", "^", "-."),
    "ref": ("#000000", "D", ":"),
    "pyod": ("#009E73", "v", "-"),
}
OTHER_STYLE = ("#CC79A7", "P", "-")
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
MIB = 2**20
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
OVERLAPS: dict[str, list[tuple[str, str]]] = {}


def family_style(family: str) -> tuple[str, str, str]:
    """(colour, marker, line style) of a family."""
    return FAMILY_STYLE.get(family, OTHER_STYLE)


# the members of a pair that share family bp (the same function, trained with less memory)
# keep its colour, each with a marker and line style of its own
METHOD_STYLE = {
    "bp-ckpt": ("D", (0, (3, 1, 1, 1))),
    "bp-ckpt-each": ("d", (0, (1, 1))),
    "bp-accum": ("P", (0, (5, 2))),
}


def method_style(method: str, family: str) -> tuple[str, str, object]:
    """(colour, marker, line style) of a method (a detector less its objective and arch):
    its family's colour, and the family's marker and line unless the method has its own."""
    colour, marker, line = family_style(family)
    own = METHOD_STYLE.get(method)
    return (colour, *own) if own else (colour, marker, line)


def _hidden_ticks(fig: Figure, renderer) -> set[int]:
    """Tick labels matplotlib keeps but does not draw (outside the axis' view limits)."""
    out = set()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        if not ax.axison:
            labels = ax.get_xticklabels(which="both") + ax.get_yticklabels(which="both")
            out |= {id(lab) for lab in labels}
            continue
        for lab in ax.get_xticklabels() + ax.get_xticklabels(minor=True):
            b = lab.get_window_extent(renderer)
            if not box.x0 - 1 <= (b.x0 + b.x1) / 2 <= box.x1 + 1:
                out.add(id(lab))
        for lab in ax.get_yticklabels() + ax.get_yticklabels(minor=True):
            b = lab.get_window_extent(renderer)
            if not box.y0 - 1 <= (b.y0 + b.y1) / 2 <= box.y1 + 1:
                out.add(id(lab))
    return out


def _texts(fig: Figure) -> list[tuple[str, object]]:
    renderer = FigureCanvasAgg(fig).get_renderer()
    hidden = _hidden_ticks(fig, renderer)
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0 and id(t) not in hidden:
            out.append((t.get_text(), t.get_window_extent(renderer)))
    return out


def text_overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible texts whose boxes overlap by more than half a point, and texts that
    reach outside the figure (paired with "outside the figure")."""
    boxes = _texts(fig)
    pad = 0.5 * fig.dpi / 72
    w, h = fig.bbox.width, fig.bbox.height
    out = [
        (a, "outside the figure")
        for a, b in boxes
        if b.x0 < -pad or b.y0 < -pad or b.x1 > w + pad or b.y1 > h + pad
    ]
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        if (
            min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > pad
            and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > pad
        ):
            out.append((a, b))
    return out


def _new(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Save at the figure's own size (no tight bounding box: the PDF is as wide as drawn)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig).draw()
    OVERLAPS[name] = text_overlaps(fig)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=300)
    fig.savefig(paths[1])
    return paths


def _axis_scale(ax, axis: str, values: pd.Series) -> None:
    """Log scale (ticks 1, 2, 5 per decade, plain numbers) only over a decade or more."""
    v = values[values > 0]
    which = ax.xaxis if axis == "x" else ax.yaxis
    if len(v) and v.max() / v.min() >= 10:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        which.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=6))
        which.set_major_formatter(PLAIN)
        which.set_minor_formatter(NullFormatter())
    else:
        which.set_major_locator(MaxNLocator(nbins=4))


def _place_labels(
    ax, fig: Figure, points: list[tuple[str, float, float]], markers: list[tuple[float, float]]
) -> list[str]:
    """Label ``points`` without covering other text or any of ``markers`` (data coordinates),
    trying four offsets; the names left unlabelled."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.canvas.draw()
    boxes = [b for _, b in _texts(fig)]
    centres = [ax.transData.transform(m) for m in markers]
    r = 3 * fig.dpi / 72  # a marker's half width
    axbox = ax.get_window_extent(renderer)
    skipped = []
    for name, x, y in points:
        placed = False
        for dx, dy, ha, va in [
            (3, 3, "left", "bottom"),
            (-3, 3, "right", "bottom"),
            (3, -3, "left", "top"),
            (-3, -3, "right", "top"),
        ]:
            t = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va)
            b = t.get_window_extent(renderer)
            inside = b.x0 >= axbox.x0 and b.x1 <= axbox.x1 and b.y0 >= axbox.y0 and b.y1 <= axbox.y1
            clash = any(
                min(b.x1, o.x1) - max(b.x0, o.x0) > 0 and min(b.y1, o.y1) - max(b.y0, o.y0) > 0
                for o in boxes
            ) or any(
                b.x0 - r < cx < b.x1 + r and b.y0 - r < cy < b.y1 + r
                for cx, cy in centres
                if (cx, cy) != tuple(ax.transData.transform((x, y)))
            )
            if inside and not clash:
                boxes.append(b)
                placed = True
                break
            t.remove()
        if not placed:
            skipped.append(name)
    return skipped


def _cost_scatter(
    cost: pd.DataFrame, fam: pd.Series, twins: dict[str, list[str]], x: str, xlabel: str, scale
) -> Figure:
    """Mean AUROC against a cost: colour and marker by family, thin lines from each FF
    detector to its twins, the Pareto front as a dashed step line with its points named."""
    fig = _new(COLUMN_WIDTH_IN, 2.9)
    ax = fig.subplots()
    data = cost.dropna(subset=[x]).copy()
    data["family"] = [fam.get(d, "") for d in data.index]
    for ff, others in twins.items():
        for o in others:
            if ff in data.index and o in data.index:
                ax.plot(
                    [data.loc[ff, x] / scale, data.loc[o, x] / scale],
                    [data.loc[ff, "auroc"], data.loc[o, "auroc"]],
                    color="0.6",
                    linewidth=0.6,
                    zorder=1,
                )
    handles = []
    for family, g in sorted(data.groupby("family"), key=lambda kv: stats.family_rank(kv[0])):
        colour, marker, _ = family_style(family)
        ax.scatter(g[x] / scale, g["auroc"], color=colour, marker=marker, s=16, zorder=3)
        handles.append(
            Line2D([], [], color=colour, marker=marker, linestyle="", label=family or "other")
        )
    front = data[stats.pareto_front(data[x], data["auroc"])].sort_values(x)
    if len(front):
        ax.step(
            front[x] / scale, front["auroc"], where="post", color="0.3", linestyle="--", zorder=2
        )
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="Pareto front"))
    _axis_scale(ax, "x", data[x] / scale)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean AUROC")
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    pad = (data["auroc"].max() - data["auroc"].min()) * 0.15 or 0.05
    ax.set_ylim(data["auroc"].min() - pad, data["auroc"].max() + pad)
    _place_labels(
        ax,
        fig,
        [(d, r[x] / scale, r["auroc"]) for d, r in front.iterrows()],
        list(zip(data[x] / scale, data["auroc"], strict=True)),
    )
    return fig


def memory_vs_auroc(
    cost: pd.DataFrame, fam: pd.Series, twins: dict[str, list[str]], out_dir: Path
) -> list[Path]:
    """Mean AUROC against mean peak training memory, Pareto front (less memory, more AUROC)."""
    with rc_context(STYLE):
        fig = _cost_scatter(
            cost, fam, twins, "peak_train_mem_bytes", "peak training memory (MiB)", MIB
        )
        return _save(fig, out_dir, "memory_vs_auroc")


def fit_time_vs_auroc(
    cost: pd.DataFrame, fam: pd.Series, twins: dict[str, list[str]], out_dir: Path
) -> list[Path]:
    """Mean AUROC against mean fit time, Pareto front (faster, more AUROC)."""
    with rc_context(STYLE):
        fig = _cost_scatter(cost, fam, twins, "fit_seconds", "fit time (s)", 1.0)
        return _save(fig, out_dir, "fit_time_vs_auroc")


# More datasets than this: one neutral marker for every block and a mark per detector's mean.
MAX_DATASET_MARKERS = 7


def auroc_points(
    blocks: pd.DataFrame, order: list[str], fam: pd.Series, out_dir: Path
) -> list[Path]:
    """AUROC of every block (dataset, normal class; seeds averaged) per detector: points, not
    boxplots of a few values; one marker and colour per dataset; chance dotted."""
    dets = [d for d in order if d in blocks.columns]
    datasets = sorted(blocks.index.get_level_values("dataset").unique()) if len(blocks) else []
    height = 0.9 + 0.15 * max(len(dets), 1)
    with rc_context(STYLE):
        fig = _new(COLUMN_WIDTH_IN, height)
        ax = fig.subplots()
        y = {d: len(dets) - 1 - i for i, d in enumerate(dets)}
        few = len(datasets) <= MAX_DATASET_MARKERS
        for k, ds in enumerate(datasets):
            sub = blocks.xs(ds, level="dataset")
            off = (k - (len(datasets) - 1) / 2) * (0.5 / max(len(datasets), 1)) if few else 0
            xs, ys = [], []
            for d in dets:
                v = sub[d].dropna()
                xs += list(v)
                ys += [y[d] + off] * len(v)
            ax.scatter(
                xs,
                ys,
                s=7,
                marker=MARKERS[k % len(MARKERS)] if few else "o",
                color=OKABE_ITO[k % len(OKABE_ITO)] if few else "0.5",
                alpha=0.9 if few else 0.4,
                linewidths=0,
                label=ds if few else ("block" if k == 0 else None),
                zorder=3,
            )
        if not few:
            means = blocks[dets].mean()
            ax.scatter(means, [y[d] for d in dets], marker="|", s=60, color="k", label="mean")
        ax.axvline(0.5, color="0.4", linestyle=":", linewidth=0.8, zorder=1)
        ax.set_yticks([y[d] for d in dets], dets)
        for label, d in zip(ax.get_yticklabels(), dets, strict=True):
            label.set_color(family_style(fam.get(d, ""))[0])
        ax.set_ylim(-0.6, len(dets) - 0.4)
        ax.set_xlabel("AUROC per block")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if datasets:
            fig.legend(loc="outside lower center", ncols=3, frameon=False, markerscale=1.5)
        return _save(fig, out_dir, "auroc_distributions")


def _depth_axes(ax, depths: pd.Series) -> None:
    """Linear depth axis with a tick at every depth measured (labels thinned to fit)."""
    ticks = sorted(depths.unique())
    ax.set_xticks(ticks, [f"{d:g}" for d in ticks])
    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    labels = ax.get_xticklabels()
    last = -np.inf
    for t in labels:
        b = t.get_window_extent(renderer)
        if b.x0 < last + 2:
            t.set_visible(False)
        else:
            last = b.x1
    ax.minorticks_off()


def _series_plot(ax, data: pd.DataFrame, name: str, scale: float) -> list[Line2D]:
    """One line per series: family colour and line style, its own marker, std error bars."""
    handles = []
    series = sorted(
        data["series"].unique(),
        key=lambda s: (stats.family_rank(data.loc[data["series"] == s, "family"].iloc[0]), s),
    )
    family = {s: data.loc[data["series"] == s, "family"].iloc[0] for s in series}
    span = data["depth"].max() - data["depth"].min() or 1.0
    for i, s in enumerate(series):
        g = data[data["series"] == s].sort_values("depth")
        colour, _, linestyle = family_style(family[s])
        # series often coincide (same family, or bp and bpl): dodge each sideways, a little
        dodge = (i - (len(series) - 1) / 2) * 0.01 * span
        h = ax.errorbar(
            g["depth"] + dodge,
            g[name] / scale,
            yerr=g["std"].fillna(0) / scale,
            marker=MARKERS[i % len(MARKERS)],
            markerfacecolor="white" if i % 2 else colour,
            color=colour,
            linestyle=linestyle,
            capsize=2,
            elinewidth=0.6,
            label=s,
        )
        handles.append(h)
    return handles


def memory_vs_depth(
    sweep: pd.DataFrame, analytic: pd.DataFrame, out_dir: Path, name: str = "memory_vs_depth"
) -> list[Path]:
    """Measured peak training memory against depth (mean ± std over seeds), with one analytic
    line per family; linear depth axis."""
    with rc_context(STYLE):
        ncols, rows = _legend_shape([*sweep["series"].unique(), *analytic["series"].unique()])
        fig = _new(COLUMN_WIDTH_IN, 2.3 + 0.16 * rows)
        ax = fig.subplots()
        handles = _series_plot(ax, sweep, "peak_train_mem_bytes", MIB)
        for series, g in analytic.groupby("series"):
            g = g.sort_values("depth")
            (h,) = ax.plot(
                g["depth"],
                g["analytic_bytes"] / MIB,
                color=family_style(g["family"].iloc[0])[0],
                linestyle=":",
                linewidth=1.6,
                label=series,
                zorder=4,
            )
            handles.append(h)
        _depth_axes(ax, sweep["depth"])
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel("peak training memory (MiB)")
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)
        return _save(fig, out_dir, name)


def _legend_shape(labels: list[str]) -> tuple[int, int]:
    """(columns, rows) of a column-wide legend: two columns when the longest label fits."""
    ncols = 2 if 2 * (_label_width_in(labels) + 0.5) <= COLUMN_WIDTH_IN else 1
    return ncols, -(-len(labels) // ncols)


def step_time_vs_depth(
    steps: pd.DataFrame, out_dir: Path, name: str = "step_time_vs_depth"
) -> list[Path]:
    """Seconds per optimizer step against depth, mean ± std over seeds."""
    with rc_context(STYLE):
        ncols, rows = _legend_shape(list(steps["series"].unique()))
        fig = _new(COLUMN_WIDTH_IN, 2.3 + 0.16 * rows)
        ax = fig.subplots()
        handles = _series_plot(ax, steps, "step_seconds", 1.0)
        _depth_axes(ax, steps["depth"])
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel("time per step (s)")
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)
        return _save(fig, out_dir, name)


def _label_width_in(labels: list[str]) -> float:
    """Widest of ``labels`` at the figure font size, in inches."""
    fig = Figure()
    renderer = FigureCanvasAgg(fig).get_renderer()
    widths = [fig.text(0, 0, t).get_window_extent(renderer).width for t in labels]
    return max(widths, default=0.0) / fig.dpi


CD_AXIS_MIN_IN = 0.9


def _cd_figure(ranking: stats.Ranking) -> Figure:
    """One column wide when the names fit beside the rank axis, else the full text width."""
    avg = ranking.average
    k = len(avg)
    half = (k + 1) // 2
    with_ranks = [f"{name} ({rank:.2f})" for name, rank in avg.items()]
    # one column when the names fit beside the axis (with their ranks, else without: the
    # rank table has them); otherwise, deliberately, the text width
    for labels, width in [
        (with_ranks, COLUMN_WIDTH_IN),
        (list(avg.index), COLUMN_WIDTH_IN),
        (with_ranks, TEXT_WIDTH_IN),
    ]:
        side = _label_width_in(labels) + 0.15
        if 2 * side + CD_AXIS_MIN_IN <= width:
            break
    side = min(side, (width - CD_AXIS_MIN_IN) / 2)
    fig = Figure(figsize=(width, 0.75 + 0.17 * half))
    ax = fig.add_axes((side / width, 0.03, 1 - 2 * side / width, 0.94))
    ax.set_xlim(1, max(k, 2))
    ax.set_ylim(-(half + 0.5), 1.9)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", linewidth=0.8)
    step = 1 if k <= 10 else 5  # many detectors: label every fifth rank
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="k", linewidth=0.8)
        if r == 1 or r % step == 0:
            ax.text(r, 0.3, str(r), ha="center", va="bottom")
    bar = min(ranking.cd, k - 1)
    ax.hlines(1.35, 1, 1 + bar, color="k", linewidth=1.2, clip_on=False)
    label = f"CD = {ranking.cd:.2f}"
    if ranking.cd_spans_all:
        label += " (spans all: no pair differs)"
    ax.text(1, 1.5, label, ha="left", va="bottom")
    for i, (rank, text) in enumerate(zip(avg, labels, strict=True)):
        left = i < half
        y = -(i + 1) if left else -(k - i)
        x_end = 0.9 if left else k + 0.1
        ax.plot([rank, rank, x_end], [0, y, y], color="k", linewidth=0.6, clip_on=False)
        ax.text(x_end, y, text, ha="right" if left else "left", va="center")
    for j, group in enumerate(stats.cliques(avg, ranking.cd)):
        y = -0.35 - 0.25 * j
        ax.hlines(
            y, avg[group[0]] - 0.03, avg[group[-1]] + 0.03, color="k", linewidth=2.0, clip_on=False
        )
    return fig


def cd_diagram(ranking: stats.Ranking, out_dir: Path, name: str = "cd_diagram") -> list[Path]:
    """Critical-difference diagram: average ranks, cliques not separated by the Nemenyi CD.
    One column wide when the names fit, else deliberately the full text width."""
    with rc_context(STYLE):
        return _save(_cd_figure(ranking), out_dir, name)
