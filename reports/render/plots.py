"""The figures of the accuracy sections: mean AUROC against a cost with its Pareto front,
AUROC per block, and the critical-difference diagram of a ranking."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reports.analysis.cost import pareto_front
from reports.analysis.frames import family_rank
from reports.analysis.ranking import Ranking, cliques
from reports.render import figures
from reports.render.formats import MIB


def _cost_scatter(
    cost: pd.DataFrame, fam: pd.Series, twins: dict[str, list[str]], x: str, xlabel: str, scale
) -> Figure:
    """Mean AUROC against a cost: colour and marker by family, thin lines from each FF
    detector to its twins, the Pareto front as a dashed step line with its points named."""
    fig = figures.new(figures.COLUMN_WIDTH_IN, 2.9)
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
    for family, g in sorted(data.groupby("family"), key=lambda kv: family_rank(kv[0])):
        colour, marker, _ = figures.family_style(family)
        ax.scatter(g[x] / scale, g["auroc"], color=colour, marker=marker, s=16, zorder=3)
        handles.append(
            Line2D([], [], color=colour, marker=marker, linestyle="", label=family or "other")
        )
    front = data[pareto_front(data[x], data["auroc"])].sort_values(x)
    if len(front):
        ax.step(
            front[x] / scale, front["auroc"], where="post", color="0.3", linestyle="--", zorder=2
        )
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="Pareto front"))
    figures.axis_scale(ax, "x", data[x] / scale)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean AUROC")
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    pad = (data["auroc"].max() - data["auroc"].min()) * 0.15 or 0.05
    ax.set_ylim(data["auroc"].min() - pad, data["auroc"].max() + pad)
    figures.place_labels(
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
    with rc_context(figures.STYLE):
        fig = _cost_scatter(
            cost, fam, twins, "peak_train_mem_bytes", "peak training memory (MiB)", MIB
        )
        return figures.save(fig, out_dir, "memory_vs_auroc")


def fit_time_vs_auroc(
    cost: pd.DataFrame, fam: pd.Series, twins: dict[str, list[str]], out_dir: Path
) -> list[Path]:
    """Mean AUROC against mean fit time, Pareto front (faster, more AUROC)."""
    with rc_context(figures.STYLE):
        fig = _cost_scatter(cost, fam, twins, "fit_seconds", "fit time (s)", 1.0)
        return figures.save(fig, out_dir, "fit_time_vs_auroc")


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
    with rc_context(figures.STYLE):
        fig = figures.new(figures.COLUMN_WIDTH_IN, height)
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
                marker=figures.MARKERS[k % len(figures.MARKERS)] if few else "o",
                color=figures.OKABE_ITO[k % len(figures.OKABE_ITO)] if few else "0.5",
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
            label.set_color(figures.family_style(fam.get(d, ""))[0])
        ax.set_ylim(-0.6, len(dets) - 0.4)
        ax.set_xlabel("AUROC per block")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if datasets:
            fig.legend(loc="outside lower center", ncols=3, frameon=False, markerscale=1.5)
        return figures.save(fig, out_dir, "auroc_distributions")


CD_AXIS_MIN_IN = 0.9


def _cd_figure(ranking: Ranking) -> Figure:
    """One column wide when the names fit beside the rank axis, else the full text width."""
    avg = ranking.average
    k = len(avg)
    half = (k + 1) // 2
    with_ranks = [f"{name} ({rank:.2f})" for name, rank in avg.items()]
    # one column when the names fit beside the axis (with their ranks, else without: the
    # rank table has them); otherwise, deliberately, the text width
    for labels, width in [
        (with_ranks, figures.COLUMN_WIDTH_IN),
        (list(avg.index), figures.COLUMN_WIDTH_IN),
        (with_ranks, figures.TEXT_WIDTH_IN),
    ]:
        side = figures.label_width_in(labels) + 0.15
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
    for j, group in enumerate(cliques(avg, ranking.cd)):
        y = -0.35 - 0.25 * j
        ax.hlines(
            y, avg[group[0]] - 0.03, avg[group[-1]] + 0.03, color="k", linewidth=2.0, clip_on=False
        )
    return fig


def cd_diagram(ranking: Ranking, out_dir: Path, name: str = "cd_diagram") -> list[Path]:
    """Critical-difference diagram: average ranks, cliques not separated by the Nemenyi CD.
    One column wide when the names fit, else deliberately the full text width."""
    with rc_context(figures.STYLE):
        return figures.save(_cd_figure(ranking), out_dir, name)
