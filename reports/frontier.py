"""The memory frontier of a memory suite: at every depth, each FF detector and the members of
its pair that train (FF, bp, bp-ckpt, bp-accum, bpl; the untrained control is the meter's
floor, not a method), their peak training memory against their time per step; which is
cheapest in memory, which twin is cheapest among the backprop ones and at what cost in time,
and which methods no other beats in both (the Pareto front).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reports import figures, stats
from reports.tables import MIB, Table, number, significant

KEYS = ["width", "batch_size", "depth"]
_ORDER = ("ff", "bp", "bp-ckpt", "bp-ckpt-each", "bp-accum", "bpl")  # legend order


def method(detector: str, ff: str) -> str:
    """The detector's name without the objective and architecture it shares with ``ff``."""
    return detector.replace("-" + ff.removeprefix("ff-"), "", 1)


def points(runs: pd.DataFrame, suite: str) -> pd.DataFrame:
    """Per FF detector (``ff``), configuration, depth and trained member of its pair: mean
    peak memory and step time, and both over FF's at the same width, batch and depth
    (``memory_ratio``, ``time_ratio``), and whether it is on the depth's Pareto front."""
    mem = stats.memory_sweep(runs, suite=suite)
    if mem.empty:
        return pd.DataFrame()
    steps = stats.memory_sweep(runs, "step_seconds", suite)
    data = mem[["detector", "family", *KEYS, "peak_train_mem_bytes"]]
    if steps.empty:
        data = data.assign(step_seconds=float("nan"))
    else:
        data = data.merge(
            steps[["detector", *KEYS, "step_seconds"]], on=["detector", *KEYS], how="left"
        )
    parts = []
    for ff, others in sorted(stats.twin_map(runs).items()):
        base = data[(data["detector"] == ff) & (data["family"] == "ff")]
        if base.empty:
            continue
        members = data[data["detector"].isin(others) & (data["family"] != "ref")]
        part = pd.concat([base, members]).merge(
            base[[*KEYS, "peak_train_mem_bytes", "step_seconds"]], on=KEYS, suffixes=("", "_ff")
        )
        part["ff"] = ff
        part["method"] = [method(d, ff) for d in part["detector"]]
        part["memory_ratio"] = part["peak_train_mem_bytes"] / part["peak_train_mem_bytes_ff"]
        part["time_ratio"] = part["step_seconds"] / part["step_seconds_ff"]
        part["front"] = False
        for _, at in part.groupby(KEYS):
            part.loc[at.index, "front"] = stats.pareto_front(
                at["peak_train_mem_bytes"], -at["step_seconds"]
            )
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def table(p: pd.DataFrame) -> Table:
    """One row per depth of one FF detector's points: least memory, the cheapest backprop
    twin with its memory and step time over FF's, and the Pareto front."""
    rows = []
    for depth, at in p.groupby("depth"):
        least = at.loc[at["peak_train_mem_bytes"].idxmin()]
        bp = at[at["family"] != "ff"]
        twin = bp.loc[bp["peak_train_mem_bytes"].idxmin()] if len(bp) else None
        front = at[at["front"]].sort_values("peak_train_mem_bytes")["method"]
        rows.append(
            [
                number(depth, 0),
                f"{least['method']} ({significant(least['peak_train_mem_bytes'] / MIB, 3)})",
                twin["method"] if twin is not None else "—",
                number(twin["memory_ratio"], 2) if twin is not None else "—",
                number(twin["time_ratio"], 2) if twin is not None else "—",
                ", ".join(front) or "—",
            ]
        )
    header = [
        "depth",
        "least memory (MiB)",
        "cheapest backprop twin",
        "its peak / FF's",
        "its step time / FF's",
        "Pareto front (memory, time)",
    ]
    return Table(header, rows, rotate={3, 4}, spec="llllll")


def sentence(p: pd.DataFrame, label: str) -> str:
    """The table in words, for one FF detector: where each method is cheapest in memory, and
    the cheapest backprop twin at the deepest depth with its memory and time over FF's."""
    ff = p["ff"].iloc[0]
    cheapest: dict[str, list[str]] = {}
    for depth, at in p.groupby("depth"):
        m = at.loc[at["peak_train_mem_bytes"].idxmin(), "method"]
        cheapest.setdefault(m, []).append(f"{depth:g}")
    where = "; ".join(f"{m} at depths {', '.join(d)}" for m, d in cheapest.items())
    deepest = p[p["depth"] == p["depth"].max()]
    bp = deepest[deepest["family"] != "ff"]
    text = f"{ff} ({label}): least peak training memory: {where}."
    if len(bp):
        twin = bp.loc[bp["peak_train_mem_bytes"].idxmin()]
        time = (
            f" at {number(twin['time_ratio'], 2)}x its step time"
            if pd.notna(twin["time_ratio"])
            else ""
        )
        text += (
            f" At depth {twin['depth']:g} its cheapest backprop twin, {twin['detector']}, "
            f"needs {number(twin['memory_ratio'], 2)}x FF's peak{time}."
        )
    return text


def figure(p: pd.DataFrame, out_dir: Path, name: str) -> list[Path]:
    """Peak memory (x) against time per step (y): a row per FF detector, a panel per depth;
    marker per method, colour per family, the Pareto front dashed."""
    pairs = sorted(p["ff"].unique())
    depths = sorted(p["depth"].unique())
    methods = [m for m in _ORDER if m in set(p["method"])]
    methods += sorted(set(p["method"]) - set(methods))
    with rc_context(figures.STYLE):
        fig = figures._new(figures.TEXT_WIDTH_IN, 0.6 + 1.45 * len(pairs))
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
                figures._axis_scale(ax, "x", at["peak_train_mem_bytes"] / MIB)
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
            colour, marker, _ = figures.method_style(m, _family(p, m))
            handles.append(Line2D([], [], color=colour, marker=marker, linestyle="", label=m))
        handles.append(Line2D([], [], color="0.4", linestyle="--", label="Pareto front"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
        return figures._save(fig, out_dir, name)


def _family(p: pd.DataFrame, m: str) -> str:
    return str(p.loc[p["method"] == m, "family"].iloc[0])


def section(doc: Any, runs: pd.DataFrame, suite: str, slug: str, label: str) -> None:
    """The frontier part of a memory suite's section (``label``: its optimizer): sentences,
    a table per FF detector, and the figure."""
    p = points(runs, suite)
    doc.add(f"### The frontier: memory against time per step, per depth (`{suite}`)", "")
    if p.empty:
        doc.add("No FF detector with a twin in this suite: no frontier.", "")
        return
    doc.add(
        "Each FF detector and the members of its pair that train (the untrained control is "
        "the meter's floor, not a method); ratios over FF at the same depth; a method is on "
        "the Pareto front when no other has both less or equal memory and less or equal time "
        "per step, one of them strictly.",
        "",
    )
    for _, g in p.groupby("ff"):
        doc.add(f"- {sentence(g, label)}")
    doc.add("")
    for ff, g in p.groupby("ff"):
        doc.add(f"#### {ff}", "")
        doc.table(
            table(g),
            f"frontier{slug}_{ff.removeprefix('ff-')}",
            f"Memory frontier of {ff} and its twins per depth ({label}).",
        )
    doc.figure(
        figure(p, doc.out_dir / "figures", f"memory_frontier{slug}"),
        f"Peak training memory against time per step ({label}), a panel per depth and a row "
        "per FF detector with its twins; colour: family, marker: method; dashed: the Pareto "
        "front.",
    )
