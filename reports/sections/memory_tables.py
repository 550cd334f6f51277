"""The memory section's tables: per depth and detector the peak training memory or the time
per step with each twin / FF ratio, and the measured growth per layer against the analytic
model."""

from __future__ import annotations

import math

import pandas as pd

from reports.analysis.frames import MISSING, family_rank
from reports.analysis.memory import slope
from reports.render.formats import MIB, PLUS_MINUS, number, significant
from reports.render.table import Table


def _twin_pairs(sweep: pd.DataFrame, twins: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(FF series, twin series) for every twin of an FF detector in the sweep, same config."""
    out = []
    for _, g in sweep.groupby(["width", "batch_size"]):
        names = dict(zip(g["detector"], g["series"], strict=False))
        for det in sorted(names):
            if g.loc[g["detector"] == det, "family"].iloc[0] != "ff":
                continue
            out += [(names[det], names[t]) for t in twins.get(det, []) if t in names]
    return out


def _depth_grid(
    sweep: pd.DataFrame, name: str, twins: dict[str, list[str]], scale: float, digits: int
) -> tuple[Table, Table]:
    """Depth x series (mean ± std over seeds in Markdown, mean in LaTeX) and BP/FF ratios."""
    series = sorted(
        sweep["series"].unique(),
        key=lambda x: (family_rank(sweep.loc[sweep["series"] == x, "family"].iloc[0]), x),
    )
    pairs = _twin_pairs(sweep, twins)
    depths = sorted(sweep["depth"].unique())
    md_rows, tex_rows = [], []
    for depth in depths:
        at = sweep[sweep["depth"] == depth].set_index("series")
        md_row, tex_row = [number(depth, 0)], [number(depth, 0)]
        for x in series:
            if x in at.index:
                m, sd = at.loc[x, name] / scale, at.loc[x, "std"] / scale
                text = significant(m, digits)
                md_row.append(text if math.isnan(sd) else f"{text}{PLUS_MINUS}{significant(sd, 2)}")
                tex_row.append(text)
            else:
                md_row.append(MISSING)
                tex_row.append(MISSING)
        for ff, bp in pairs:
            ratio = (
                at.loc[bp, name] / at.loc[ff, name]
                if ff in at.index and bp in at.index
                else float("nan")
            )
            md_row.append(number(ratio, 2))
            tex_row.append(number(ratio, 2))
        md_rows.append(md_row)
        tex_rows.append(tex_row)
    header = ["depth", *series, *(f"{bp} / {ff}" for ff, bp in pairs)]
    tex = Table(header, tex_rows, rotate=set(range(1, len(header))))
    return Table(header, md_rows), tex


def memory_depth_tables(sweep: pd.DataFrame, twins: dict[str, list[str]]) -> tuple[Table, Table]:
    """Peak training memory (MiB) per depth and detector, with each twin / FF ratio."""
    return _depth_grid(sweep, "peak_train_mem_bytes", twins, MIB, 4)


def step_time_tables(steps: pd.DataFrame, twins: dict[str, list[str]]) -> tuple[Table, Table]:
    """Seconds per optimizer step per depth and detector, with each twin / FF ratio."""
    return _depth_grid(steps, "step_seconds", twins, 1.0, 3)


def growth_table(sweep: pd.DataFrame, analytic: pd.DataFrame) -> Table:
    """Per detector: measured growth of peak memory per added layer (least squares over
    depths, MiB/layer) against the analytic growth of its family, and their ratio."""
    rows = []
    for x, g in sorted(
        sweep.groupby("series"), key=lambda kv: (family_rank(kv[1]["family"].iloc[0]), kv[0])
    ):
        family = g["family"].iloc[0]
        a = analytic[
            analytic["families"].str.split(", ").map(lambda fams, f=family: f in fams)
            & (analytic["width"] == g["width"].iloc[0])
            & (analytic["batch_size"] == g["batch_size"].iloc[0])
        ]
        measured = slope(g["depth"], g["peak_train_mem_bytes"]) / MIB
        model = a["per_layer"].iloc[0] / MIB if len(a) else float("nan")
        ratio = measured / model if model else float("nan")
        rows.append([x, family, number(measured + 0.0, 2), number(model, 2), number(ratio, 2)])
    return Table(
        ["detector", "family", "measured MiB/layer", "analytic MiB/layer", "measured/analytic"],
        rows,
        latex_drop={1},
        rotate={2, 3, 4},
        spec="llrrr",
    )
