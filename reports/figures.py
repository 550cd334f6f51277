"""Paper-column figures (3.3 in wide, 7 pt text), each saved as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from reports import stats

COLUMN_WIDTH_IN = 3.3
STYLE = {
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
MIB = 2**20
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")


def _save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=300, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


def _cost_scatter(cost: pd.DataFrame, x: str, xlabel: str, scale: float) -> Figure:
    """AUROC against a cost, one marker shape per memory meter, Pareto front as a step line."""
    fig = Figure(figsize=(COLUMN_WIDTH_IN, 2.4))
    ax = fig.subplots()
    data = cost.dropna(subset=[x])
    for i, (meter, g) in enumerate(data.groupby("meter")):
        ax.scatter(
            g[x] / scale,
            g["auroc"],
            marker=MARKERS[i % len(MARKERS)],
            label=meter or "unknown meter",
            zorder=3,
        )
    for det, r in data.iterrows():
        ax.annotate(det, (r[x] / scale, r["auroc"]), xytext=(2, 2), textcoords="offset points")
    front = data[stats.pareto_front(data[x], data["auroc"])].sort_values(x)
    if len(front):
        ax.step(
            front[x] / scale,
            front["auroc"],
            where="post",
            color="0.4",
            linestyle="--",
            label="Pareto front",
            zorder=2,
        )
        ax.scatter(
            front[x] / scale, front["auroc"], s=60, facecolors="none", edgecolors="0.2", zorder=4
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PLAIN)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean AUROC over datasets")
    ax.legend(frameon=False)
    return fig


def memory_vs_auroc(cost: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Mean AUROC against mean peak training memory, Pareto front (less memory, more AUROC)."""
    with rc_context(STYLE):
        fig = _cost_scatter(cost, "peak_train_mem_bytes", "peak training memory (MiB)", MIB)
        return _save(fig, out_dir, "memory_vs_auroc")


def fit_time_vs_auroc(cost: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Mean AUROC against mean fit time, Pareto front (faster, more AUROC)."""
    with rc_context(STYLE):
        fig = _cost_scatter(cost, "fit_seconds", "fit time (s)", 1.0)
        return _save(fig, out_dir, "fit_time_vs_auroc")


def auroc_distributions(trials: pd.DataFrame, order: list[str], out_dir: Path) -> list[Path]:
    """One panel per dataset: AUROC of every trial (normal class x seed) per detector."""
    datasets = sorted(trials["dataset"].unique())
    order = [d for d in order if d in set(trials["detector"])]
    height = 0.4 + 0.16 * len(order)
    with rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, height * len(datasets) + 0.3))
        axes = fig.subplots(len(datasets), 1, sharex=True, squeeze=False)
        for ax, d in zip(axes[:, 0], datasets, strict=True):
            sub = trials[trials["dataset"] == d]
            sns.boxplot(
                data=sub,
                x="auroc",
                y="detector",
                order=order,
                ax=ax,
                color="0.85",
                linewidth=0.6,
                fliersize=0,
            )
            sns.stripplot(
                data=sub, x="auroc", y="detector", order=order, ax=ax, size=2, color="0.2"
            )
            ax.set_title(d, loc="left")
            ax.set_ylabel("")
        axes[-1, 0].set_xlabel("AUROC per trial")
        fig.tight_layout()
        return _save(fig, out_dir, "auroc_distributions")


def memory_vs_depth(sweep: pd.DataFrame, analytic: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Measured peak training memory against depth, FF and BP, with BP's analytic line."""
    with rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, 2.4))
        ax = fig.subplots()
        for i, (series, g) in enumerate(sweep.groupby("series")):
            g = g.sort_values("depth")
            ax.plot(
                g["depth"],
                g["peak_train_mem_bytes"] / MIB,
                marker=MARKERS[i % len(MARKERS)],
                label=f"{series} ({g['family'].iloc[0]})",
            )
        for series, g in analytic.groupby("series"):
            ax.plot(
                g["depth"],
                g["analytic_bytes"] / MIB,
                color="0.2",
                linestyle=":",
                label=series,
                zorder=3,
            )
        depths = sweep["depth"]
        if depths.min() > 0 and depths.max() / depths.min() >= 4:
            ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(depths.unique()), [f"{d:g}" for d in sorted(depths.unique())])
        ax.minorticks_off()
        mem = sweep["peak_train_mem_bytes"]
        if mem.min() > 0 and mem.max() / mem.min() >= 10:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(PLAIN)
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel("peak training memory (MiB)")
        ax.legend(frameon=False)
        return _save(fig, out_dir, "memory_vs_depth")


def cd_diagram(ranking: stats.Ranking, out_dir: Path) -> list[Path]:
    """Critical-difference diagram: average ranks, cliques not separated by the Nemenyi CD."""
    avg = ranking.average
    k = len(avg)
    half = (k + 1) // 2
    with rc_context(STYLE):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, 0.6 + 0.16 * half))
        ax = fig.add_axes((0.3, 0.02, 0.4, 0.96))  # the margins hold the detector names
        ax.set_xlim(1, max(k, 2))
        ax.set_ylim(-(half + 0.5), 1.6)
        ax.axis("off")
        ax.hlines(0, 1, k, color="k", linewidth=0.8)
        step = 1 if k <= 10 else 5  # many detectors: label every fifth rank
        for r in range(1, k + 1):
            ax.vlines(r, 0, 0.15, color="k", linewidth=0.8)
            if r == 1 or r % step == 0:
                ax.text(r, 0.3, str(r), ha="center", va="bottom")
        ax.hlines(1.2, 1, 1 + ranking.cd, color="k", linewidth=1.2, clip_on=False)
        ax.text(1 + ranking.cd / 2, 1.3, f"CD = {ranking.cd:.2f}", ha="center", va="bottom")
        for i, (name, rank) in enumerate(avg.items()):
            left = i < half
            y = -(i + 1) if left else -(k - i)
            x_end = 0.9 if left else k + 0.1
            ax.plot([rank, rank, x_end], [0, y, y], color="k", linewidth=0.6, clip_on=False)
            ax.text(x_end, y, f"{name} ({rank:.2f})", ha="right" if left else "left", va="center")
        for j, group in enumerate(stats.cliques(avg, ranking.cd)):
            y = -0.35 - 0.25 * j
            ax.hlines(
                y,
                avg[group[0]] - 0.03,
                avg[group[-1]] + 0.03,
                color="k",
                linewidth=2.0,
                clip_on=False,
            )
        return _save(fig, out_dir, "cd_diagram")
