"""The figures of the studies: peak memory and time per step against depth, the memory
frontier, the trade-off of memory against AUROC, and windowed AUROC on the drift stream."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

from reports.analysis.frames import family_rank
from reports.analysis.tradeoff import TRAINED, family_detectors
from reports.render import figures
from reports.render.document import slug
from reports.render.formats import MIB

_METHOD_ORDER = ("ff", "bp", "bp-ckpt", "bp-ckpt-each", "bp-accum", "bpl")  # legend order
_DEPTH_SIZE = {2: 10, 4: 22, 8: 40, 16: 64}  # marker area (pt²) by depth


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
        key=lambda s: (family_rank(data.loc[data["series"] == s, "family"].iloc[0]), s),
    )
    family = {s: data.loc[data["series"] == s, "family"].iloc[0] for s in series}
    span = data["depth"].max() - data["depth"].min() or 1.0
    for i, s in enumerate(series):
        g = data[data["series"] == s].sort_values("depth")
        colour, _, linestyle = figures.family_style(family[s])
        # series often coincide (same family, or bp and bpl): dodge each sideways, a little
        dodge = (i - (len(series) - 1) / 2) * 0.01 * span
        h = ax.errorbar(
            g["depth"] + dodge,
            g[name] / scale,
            yerr=g["std"].fillna(0) / scale,
            marker=figures.MARKERS[i % len(figures.MARKERS)],
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
    with rc_context(figures.STYLE):
        labels = [*sweep["series"].unique(), *analytic["series"].unique()]
        ncols, rows = figures.legend_shape(labels)
        fig = figures.new(figures.COLUMN_WIDTH_IN, 2.3 + 0.16 * rows)
        ax = fig.subplots()
        handles = _series_plot(ax, sweep, "peak_train_mem_bytes", MIB)
        for series, g in analytic.groupby("series"):
            g = g.sort_values("depth")
            (h,) = ax.plot(
                g["depth"],
                g["analytic_bytes"] / MIB,
                color=figures.family_style(g["family"].iloc[0])[0],
                linestyle=":",
                linewidth=1.6,
                label=series,
                zorder=4,
            )
            handles.append(h)
        _depth_labels(ax, sweep["depth"], "peak training memory (MiB)")
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)
        return figures.save(fig, out_dir, name)


def step_time_vs_depth(
    steps: pd.DataFrame, out_dir: Path, name: str = "step_time_vs_depth"
) -> list[Path]:
    """Seconds per optimizer step against depth, mean ± std over seeds."""
    with rc_context(figures.STYLE):
        ncols, rows = figures.legend_shape(list(steps["series"].unique()))
        fig = figures.new(figures.COLUMN_WIDTH_IN, 2.3 + 0.16 * rows)
        ax = fig.subplots()
        handles = _series_plot(ax, steps, "step_seconds", 1.0)
        _depth_labels(ax, steps["depth"], "time per step (s)")
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)
        return figures.save(fig, out_dir, name)


def _depth_labels(ax, depths: pd.Series, ylabel: str) -> None:
    """The depth axis (``_depth_axes``), five y ticks at most, and both axis labels."""
    _depth_axes(ax, depths)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel(ylabel)


def frontier(p: pd.DataFrame, out_dir: Path, name: str) -> list[Path]:
    """Peak memory (x) against time per step (y): a row per FF detector, a panel per depth;
    marker per method, colour per family, the Pareto front dashed."""
    pairs = sorted(p["ff"].unique())
    depths = sorted(p["depth"].unique())
    methods = [m for m in _METHOD_ORDER if m in set(p["method"])]
    methods += sorted(set(p["method"]) - set(methods))
    with rc_context(figures.STYLE):
        fig = figures.new(figures.TEXT_WIDTH_IN, 0.6 + 1.45 * len(pairs))
        axes = fig.subplots(len(pairs), len(depths), squeeze=False)
        for i, ff in enumerate(pairs):
            for j, depth in enumerate(depths):
                ax = axes[i][j]
                at = p[(p["ff"] == ff) & (p["depth"] == depth)].sort_values("peak_train_mem_bytes")
                for row in at.itertuples(index=False):
                    colour, marker, _ = figures.method_style(row.method, row.family)
                    ax.scatter(
                        row.peak_train_mem_bytes / MIB,
                        row.step_seconds,
                        color=colour,
                        marker=marker,
                        s=16,
                        zorder=3,
                    )
                front = at[at["front"]]
                ax.step(
                    front["peak_train_mem_bytes"] / MIB,
                    front["step_seconds"],
                    where="post",
                    color="0.4",
                    linestyle="--",
                    linewidth=0.7,
                    zorder=2,
                )
                figures.axis_scale(ax, "x", at["peak_train_mem_bytes"] / MIB)
                ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
                ax.tick_params(axis="x", labelrotation=45)
                if i == 0:
                    ax.set_title(f"depth {depth:g}")
                if j == 0:
                    ax.set_ylabel(f"{ff.removeprefix('ff-')}\ns / step")
                if i == len(pairs) - 1:
                    ax.set_xlabel("MiB")
        handles = []
        for m in methods:
            colour, marker, _ = figures.method_style(m, _method_family(p, m))
            handles.append(Line2D([], [], color=colour, marker=marker, linestyle="", label=m))
        handles.append(Line2D([], [], color="0.4", linestyle="--", label="Pareto front"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
        return figures.save(fig, out_dir, name)


def _method_family(p: pd.DataFrame, m: str) -> str:
    return str(p.loc[p["method"] == m, "family"].iloc[0])


def tradeoff(c: pd.DataFrame, dataset: str, out_dir: Path) -> list[Path]:
    """Peak training memory (x, log) against AUROC (y) on one dataset: one panel per
    (objective, width), one line per family following depth, marker area growing with
    depth; full text width."""
    g = c[c["dataset"] == dataset]
    nets = sorted(g[["objective", "arch"]].drop_duplicates().itertuples(index=False, name=None))
    widths = sorted(g["width"].unique())
    with rc_context(figures.STYLE):
        fig = figures.new(figures.TEXT_WIDTH_IN, 0.9 + 1.55 * len(nets))
        axes = fig.subplots(len(nets), len(widths), squeeze=False, sharey=True)
        for i, (objective, arch) in enumerate(nets):
            for j, width in enumerate(widths):
                ax = axes[i][j]
                panel = g[(g["objective"] == objective) & (g["arch"] == arch)]
                panel = panel[panel["width"] == width]
                for det in family_detectors(panel, objective, arch):
                    line = panel[panel["detector"] == det].sort_values("depth")
                    method = line["prefix"].iloc[0]
                    if method not in TRAINED:
                        continue
                    colour, marker, style = figures.method_style(method, _family(line))
                    x = line["peak_train_mem_bytes_mean"] / MIB
                    ax.plot(x, line["auroc_mean"], color=colour, linestyle=style, zorder=2)
                    sizes = [_DEPTH_SIZE.get(int(d), 40) for d in line["depth"]]
                    ax.scatter(
                        x,
                        line["auroc_mean"],
                        s=sizes,
                        color=colour,
                        marker=marker,
                        zorder=3,
                        edgecolors="white",
                        linewidths=0.4,
                    )
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=8))
                ax.xaxis.set_major_formatter(figures.PLAIN)
                ax.xaxis.set_minor_formatter(NullFormatter())
                ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
                ax.set_title(f"{objective}, width {width:g}")
                if i == len(nets) - 1:
                    ax.set_xlabel("peak training memory (MiB)")
                if j == 0:
                    ax.set_ylabel("AUROC")
        fig.legend(handles=_tradeoff_legend(g), loc="outside lower center", ncols=4, frameon=False)
        return figures.save(fig, out_dir, f"tradeoff_{slug(dataset)}")


def _family(line: pd.DataFrame) -> str:
    return str(line["family"].iloc[0]) if "family" in line else ""


def _tradeoff_legend(g: pd.DataFrame) -> list[Line2D]:
    handles = []
    for prefix in TRAINED:
        sub = g[g["prefix"] == prefix]
        if sub.empty:
            continue
        colour, marker, style = figures.method_style(prefix, _family(sub))
        handles.append(Line2D([], [], color=colour, marker=marker, linestyle=style, label=prefix))
    for depth in sorted(g["depth"].unique()):
        handles.append(
            Line2D(
                [],
                [],
                color="0.4",
                marker="o",
                linestyle="",
                markersize=math.sqrt(_DEPTH_SIZE.get(int(depth), 40)),
                label=f"depth {depth:g}",
            )
        )
    return handles


def drift(
    curves: pd.DataFrame, at: float, window: tuple[int, int], shown: list[str], out_dir: Path
) -> list[Path]:
    """Windowed AUROC of the drift stream against the scored samples at each window's
    centre (``window``: size and stride), the change of normal class dashed."""
    size, stride = window
    fig = figures.new(5.0, 3.0)
    ax = fig.add_subplot()
    x = curves.index.to_numpy() * stride + size / 2
    for det in shown:
        if det in curves:
            ax.plot(x, curves[det].to_numpy(), marker="o", label=det)
    if np.isfinite(at):
        ax.axvline(at, color="grey", linestyle="--", linewidth=1)
        ax.annotate(
            "normal class changes",
            (at, 0.02),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color="grey",
            ha="left",
        )
    ax.set_xlabel(f"scored samples (centre of a {size}-sample window)")
    ax.set_ylabel("windowed AUROC")
    ax.legend(fontsize=7)
    return figures.save(fig, out_dir, "stream_drift_auroc")
