"""Tables as data (header, text cells, bold marks), rendered to Markdown and LaTeX booktabs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from reports import stats
from reports.runs import SKIPPED

MISSING = "—"
INCOMPLETE = "†"
PLUS_MINUS = " ± "
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {
    PLUS_MINUS: r" $\pm$ ",
    INCOMPLETE: r"$^\dagger$",
    MISSING: "--",
    "×": r"$\times$",
    "Δ": r"$\Delta$",
    "−": "$-$",
}


@dataclass
class Table:
    """A rectangular table of already formatted cells; ``bold`` holds (row, column) indices."""

    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)

    def markdown(self) -> str:
        """GitHub pipe table, bold as ``**x**``."""

        def cell(i: int, j: int, text: str) -> str:
            return f"**{text}**" if (i, j) in self.bold else text

        lines = [
            "| " + " | ".join(self.header) + " |",
            "|" + "|".join("---" for _ in self.header) + "|",
        ]
        lines += [
            "| " + " | ".join(cell(i, j, t) for j, t in enumerate(r)) + " |"
            for i, r in enumerate(self.rows)
        ]
        return "\n".join(lines)

    def latex(self, caption: str, label: str) -> str:
        """A booktabs ``table`` environment, bold as ``\\textbf``."""

        def cell(i: int, j: int, text: str) -> str:
            t = latex_text(text)
            return rf"\textbf{{{t}}}" if (i, j) in self.bold else t

        spec = "".join("r" if j and self._numeric(j) else "l" for j in range(len(self.header)))
        body = [
            " & ".join(cell(i, j, t) for j, t in enumerate(r)) + r" \\"
            for i, r in enumerate(self.rows)
        ]
        return "\n".join(
            [
                r"\begin{table}[t]",
                r"\centering",
                r"\small",
                rf"\caption{{{latex_text(caption)}}}",
                rf"\label{{{label}}}",
                rf"\begin{{tabular}}{{{spec}}}",
                r"\toprule",
                " & ".join(latex_text(h) for h in self.header) + r" \\",
                r"\midrule",
                *body,
                r"\bottomrule",
                r"\end{tabular}",
                r"\end{table}",
                "",
            ]
        )

    def _numeric(self, j: int) -> bool:
        """True when every cell of column ``j`` is a number (or missing): right-aligned."""
        return all(r[j] == MISSING or r[j].lstrip("-")[:1].isdigit() for r in self.rows)


def latex_text(text: str) -> str:
    """Escape LaTeX specials, then spell the few symbols the tables use."""
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return out


def number(value: float, digits: int = 3) -> str:
    """Fixed-point text, or the missing mark for NaN."""
    return MISSING if value is None or math.isnan(value) else f"{value:.{digits}f}"


def p_value(value: float) -> str:
    """p-values: three significant digits, scientific below 1e-3."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def mean_std(mean: float, std: float) -> str:
    """``mean ± std``, or the mean alone when only one seed gives no spread."""
    return number(mean) if math.isnan(std) else number(mean) + PLUS_MINUS + number(std)


def _bold_best(table: Table, means: list[list[float]]) -> None:
    """Bold every cell of a row whose displayed mean equals the row's best displayed mean."""
    for i, row in enumerate(means):
        shown = [round(v, 3) for v in row if not math.isnan(v)]
        if shown:
            best = max(shown)
            table.bold |= {
                (i, j + 1) for j, v in enumerate(row) if not math.isnan(v) and round(v, 3) == best
            }


def detector_order(runs: pd.DataFrame) -> list[str]:
    """Detectors that ran (finished or failed; skipped-only ones are listed elsewhere),
    ordered by family (ff, bp, pyod, others) then name."""
    f = stats.main_trials(runs)
    f = f[(f["detector"] != "") & (f["status"] != SKIPPED)]
    rank = {"ff": 0, "bp": 1, "pyod": 2}
    fam = f.groupby("detector")["family"].first()
    return sorted(fam.index, key=lambda d: (rank.get(fam[d], 3), d))


def _grid(cells: pd.DataFrame, label: str, keys: list[str], dets: list[str]) -> Table:
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
    _bold_best(table, means)
    return table


def metric_table(runs: pd.DataFrame, name: str) -> Table:
    """Dataset x detector: mean ± std over seeds; best per dataset bold; † = incomplete."""
    datasets = sorted(stats.main_trials(runs).query("dataset != ''")["dataset"].unique())
    return _grid(stats.cells(runs, name), "dataset", datasets, detector_order(runs))


def class_table(runs: pd.DataFrame, name: str, dataset: str) -> Table:
    """Normal class x detector for one dataset: mean ± std over seeds; best bold."""
    sub = stats.class_cells(runs, name).xs(dataset, level="dataset")
    classes = sorted(sub.index.get_level_values("normal_class").unique(), key=_natural)
    return _grid(sub, "normal class", classes, detector_order(runs))


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


def twin_table(comparisons: list[stats.TwinComparison]) -> Table:
    """FF against its BP twin: mean AUROC, difference, Wilcoxon, memory and fit-time ratios."""
    header = [
        "objective",
        "arch",
        "FF",
        "BP",
        "n",
        "AUROC FF",
        "AUROC BP",
        "Δ (FF−BP)",
        "Wilcoxon W",
        "p",
        "mem BP/FF",
        "fit BP/FF",
        "memory meter",
    ]
    rows = [
        [
            t.objective,
            t.arch,
            t.ff,
            t.bp,
            str(t.n),
            number(t.ff_auroc),
            number(t.bp_auroc),
            number(t.diff),
            number(t.wilcoxon_w, 1),
            p_value(t.wilcoxon_p),
            number(t.mem_ratio, 2),
            number(t.fit_ratio, 2),
            t.meters or MISSING,
        ]
        for t in comparisons
    ]
    return Table(header, rows)


def rank_table(r: stats.Ranking) -> Table:
    """Average rank per detector (1 = best), best bold."""
    avg = r.average
    rows = [[d, number(v, 2)] for d, v in avg.items()]
    table = Table(["detector", "average rank"], rows)
    if len(avg):
        table.bold = {(i, 1) for i, v in enumerate(avg) if round(v, 2) == round(avg.iloc[0], 2)}
    return table


def cost_table(cost: pd.DataFrame) -> Table:
    """Mean AUROC over datasets against mean peak training memory and fit time."""
    rows = [
        [
            d,
            number(r["auroc"]),
            number(r["peak_train_mem_bytes"] / 2**20, 1),
            number(r["fit_seconds"], 2),
            r["meter"] or MISSING,
            "yes" if r["pareto_memory"] else "",
            "yes" if r["pareto_time"] else "",
        ]
        for d, r in cost.sort_values("auroc", ascending=False).iterrows()
    ]
    return Table(
        [
            "detector",
            "mean AUROC",
            "peak train MiB",
            "fit s",
            "memory meter",
            "Pareto memory",
            "Pareto time",
        ],
        rows,
    )


def sweep_table(sweep: pd.DataFrame, analytic: pd.DataFrame) -> Table:
    """Peak training memory (MiB) per depth, one column per detector, plus the analytic BP line."""
    wide = sweep.pivot_table(index="depth", columns="series", values="peak_train_mem_bytes")
    for series, g in analytic.groupby("series"):
        wide[series] = g.set_index("depth")["analytic_bytes"]
    rows = [
        [number(depth, 0), *(number(v / 2**20, 2) for v in wide.loc[depth])] for depth in wide.index
    ]
    return Table(["depth", *wide.columns], rows)
