"""The trade-off section's tables: per network, AUROC and peak training memory per (depth,
width) and family; FF against each twin cell by cell, split per network for LaTeX."""

from __future__ import annotations

import math

import pandas as pd

from reports.analysis.frames import MISSING
from reports.analysis.paired import is_significant
from reports.analysis.tradeoff import ALPHA, Comparison, family_detectors
from reports.render.formats import MIB, PLUS_MINUS, mean_std, number, p_value, significant
from reports.render.table import Table


def mib(value: float) -> str:
    """MiB in at most four characters: 3 significant digits from 1 MiB up, else 2 decimals."""
    return significant(value, 3) if value >= 1 else number(value, 2)


def ratio_text(ratio: float) -> str:
    """FF's memory as a share of a twin's: 1/2.0 when FF needs half, 1.5× when more."""
    if math.isnan(ratio):
        return MISSING
    return f"1/{ratio:.1f}" if ratio >= 1 else f"{1 / ratio:.1f}×"


def signed_rounded(v: float) -> str:
    """A difference at three decimals with its sign (+0.012, −0.030; never −0.000)."""
    return MISSING if math.isnan(v) else f"{round(v, 3) + 0.0:+.3f}".replace("-", "−")


def cell_table(c: pd.DataFrame, dataset: str, objective: str, arch: str) -> tuple[Table, Table]:
    """Rows (width, depth); per family AUROC, then peak training memory (MiB), each mean ±
    std over seeds in Markdown and the mean in LaTeX; the untrained control's memory (it
    only calibrates) and the parameter count are left out of LaTeX."""
    g = c[(c["dataset"] == dataset) & (c["objective"] == objective) & (c["arch"] == arch)]
    dets = family_detectors(g, objective, arch)
    short = [d.removesuffix(f"-{objective}-{arch}") for d in dets]
    header = ["depth", "width", *(f"AUROC {s}" for s in short), *(f"MiB {s}" for s in short)]
    header.append("params")
    md_rows, tex_rows = [], []
    keys = sorted(g[["width", "depth"]].drop_duplicates().itertuples(index=False, name=None))
    for width, depth in keys:
        at = g[(g["width"] == width) & (g["depth"] == depth)].set_index("detector")
        md, tex = [number(depth, 0), number(width, 0)], [number(depth, 0), number(width, 0)]
        for value, scale, fmt in (("auroc", 1.0, number), ("peak_train_mem_bytes", MIB, None)):
            for d in dets:
                if d not in at.index:
                    md.append(MISSING)
                    tex.append(MISSING)
                    continue
                m, sd = at.at[d, f"{value}_mean"] / scale, at.at[d, f"{value}_std"] / scale
                if fmt is number:
                    md.append(mean_std(m, sd))
                    tex.append(number(m))
                else:
                    text = mib(m)
                    md.append(text if math.isnan(sd) else text + PLUS_MINUS + mib(sd))
                    tex.append(text)
        n = at["n_params"].dropna() if "n_params" in at else pd.Series(dtype=float)
        params = significant(float(n.max()), 3) if len(n) else MISSING
        md.append(params)
        tex.append(params)
        md_rows.append(md)
        tex_rows.append(tex)
    rules = {i for i in range(1, len(keys)) if keys[i][0] != keys[i - 1][0]}
    drop = {len(header) - 1}
    if short and short[-1] == "untrained":
        drop.add(2 + 2 * len(short) - 1)
    md_table = Table(header, md_rows, rules=set(rules))
    tex_table = Table(
        [h.replace("untrained", "untr.") for h in header],
        tex_rows,
        rules=set(rules),
        rotate=set(range(len(header))),
        latex_drop=drop,
        wide=None,  # table* once the memory twins make it wider than a column
    )
    return md_table, tex_table


def comparison_table(comparisons: list[Comparison]) -> Table:
    """One row per FF-versus-twin test: memory ratio and difference, AUROC difference, p and
    Holm p."""
    rows = []
    for c in sorted(comparisons, key=lambda c: (c.objective, c.arch, c.twin, c.width, c.depth)):
        r = c.result
        rows.append(
            [
                f"{c.objective}-{c.arch}",
                c.twin,
                number(c.depth, 0),
                number(c.width, 0),
                ratio_text(c.memory_ratio),
                significant(c.memory_saved / MIB, 3),
                signed_rounded(r.median_diff),
                str(r.n),
                p_value(r.p) + ("" if r.method in ("exact", "n/a") else " ≈"),
                p_value(c.p_holm) + ("*" if is_significant(c.p_holm, ALPHA) else ""),
            ]
        )
    return Table(
        [
            "network",
            "twin",
            "depth",
            "width",
            "FF memory",
            "MiB saved",
            "Δ AUROC",
            "n",
            "p",
            "p Holm",
        ],
        rows,
        rules={i for i in range(1, len(rows)) if rows[i][:2] != rows[i - 1][:2]},
        rotate=set(range(10)),
        latex_drop={7},
        wide=False,
    )


def latex_parts(table: Table) -> list[Table]:
    """``comparison_table`` split into one LaTeX table per network (a column-high float
    holds about 40 rows); the network goes in the caption."""
    parts = []
    for network in dict.fromkeys(r[0] for r in table.rows):
        idx = [i for i, r in enumerate(table.rows) if r[0] == network]
        parts.append(
            Table(
                table.header,
                [table.rows[i] for i in idx],
                rules={k for k in range(1, len(idx)) if k + idx[0] in table.rules},
                rotate=set(table.rotate),
                latex_drop={0, *table.latex_drop},
                wide=False,
            )
        )
    return parts
