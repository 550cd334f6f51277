"""Tables laid out from cells: best values in bold, rules between families, a grid of
mean ± std cells, and a wide table split into parts that fit a LaTeX column."""

from __future__ import annotations

import math

import pandas as pd

from reports.analysis.frames import MISSING
from reports.render.formats import INCOMPLETE, mean_std
from reports.render.table import COLUMN_PT, TEXT_PT, Table, name_spec


def bold_best(table: Table, means: list[list[float]]) -> None:
    """Bold every cell of a row whose displayed mean equals the row's best displayed mean."""
    for i, row in enumerate(means):
        shown = [round(v, 3) for v in row if not math.isnan(v)]
        if shown:
            best = max(shown)
            table.bold |= {
                (i, j + 1) for j, v in enumerate(row) if not math.isnan(v) and round(v, 3) == best
            }


def bold_best_columns(
    table: Table, means: list[list[float]], first: int, lowest: bool = False
) -> None:
    """Bold, per column from ``first``, every cell whose displayed value is the best shown."""
    for j in range(len(means[0]) if means else 0):
        col = [(i, round(row[j], 3)) for i, row in enumerate(means) if not math.isnan(row[j])]
        if col:
            best = (min if lowest else max)(v for _, v in col)
            table.bold |= {(i, j + first) for i, v in col if v == best}


def family_rules(dets: list[str], fam: pd.Series) -> set[int]:
    """Rows that start a new family (a rule above each)."""
    return {i for i in range(1, len(dets)) if fam.get(dets[i]) != fam.get(dets[i - 1])}


def grid(cells: pd.DataFrame, label: str, keys: list[str], dets: list[str]) -> Table:
    """Rows ``keys`` x columns ``dets`` of mean ± std cells (``complete`` False adds †);
    best mean per row in bold."""
    rows, means = [], []
    for k in keys:
        row, mrow = [k], []
        for m in dets:
            if (k, m) in cells.index:
                r = cells.loc[(k, m)]
                mark = "" if r.get("complete", True) else INCOMPLETE
                row.append(mean_std(r["mean"], r["std"]) + mark)
                mrow.append(float(r["mean"]))
            else:
                row.append(MISSING)
                mrow.append(float("nan"))
        rows.append(row)
        means.append(mrow)
    table = Table([label, *dets], rows)
    bold_best(table, means)
    return table


def column_parts(full: Table) -> list[Table]:
    """Split the middle (dataset) columns of ``full`` (name | datasets | mean | rank) into
    tables that fit one column; when more than one such table would be needed, into
    ``table*`` parts as wide as the text instead."""
    n = len(full.header) - 3
    spec = name_spec([r[0] for r in full.rows])

    def part(idx: list[int], wide: bool) -> Table:
        cols = [0, *(j + 1 for j in idx), n + 1, n + 2]
        t = Table(
            [full.header[j] for j in cols],
            [[r[j] for j in cols] for r in full.rows],
            bold={(i, cols.index(j)) for i, j in full.bold if j in cols},
            rules=set(full.rules),
            rotate=set(range(1, len(cols))),
            wide=wide,
        )
        t.spec = spec + "r" * (len(cols) - 1)
        return t

    def chunks(limit: float, wide: bool) -> list[list[int]]:
        out: list[list[int]] = [[]]
        for j in range(n):
            if out[-1] and part([*out[-1], j], wide).width_pt() > limit:
                out.append([])
            out[-1].append(j)
        return out

    narrow = chunks(COLUMN_PT, False)
    if len(narrow) == 1:
        return [part(narrow[0], False)]
    return [part(c, True) for c in chunks(TEXT_PT, True)]
