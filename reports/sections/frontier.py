"""The frontier part of a memory suite's section (a part, not a section of its own): at every
depth, each FF detector and the members of its pair that train (FF, bp, bp-ckpt, bp-accum,
bpl; the untrained control is the meter's floor, not a method), their peak training memory
against their time per step; which is cheapest in memory, which twin is cheapest among the
backprop ones and at what cost in time, and which methods no other beats in both (the Pareto
front; ``reports.analysis.memory.points``).
"""

from __future__ import annotations

import pandas as pd

from reports.analysis.memory import points
from reports.render.document import Document
from reports.render.formats import MIB, number, significant
from reports.render.study_plots import frontier
from reports.render.table import Table


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


def write_part(doc: Document, runs: pd.DataFrame, suite: str, slug: str, label: str) -> None:
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
        frontier(p, doc.out_dir / "figures", f"memory_frontier{slug}"),
        f"Peak training memory against time per step ({label}), a panel per depth and a row "
        "per FF detector with its twins; colour: family, marker: method; dashed: the Pareto "
        "front.",
    )
