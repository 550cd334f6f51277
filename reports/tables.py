"""Tables as data (header, text cells, bold marks), rendered to Markdown and LaTeX booktabs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd

from core.metrics import ScoreMetric
from reports import stats
from reports.runs import SKIPPED

MISSING = "—"
INCOMPLETE = "†"
BELOW_CHANCE = "‡"
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
    BELOW_CHANCE: r"$^\ddagger$",
    MISSING: "--",
    "×": r"$\times$",
    "Δ": r"$\Delta$",
    "−": "$-$",
    "≈": r"$\approx$",
}


@dataclass
class Table:
    """A rectangular table of already formatted cells; ``bold`` holds (row, column) indices."""

    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)
    rules: set[int] = field(default_factory=set)  # a \midrule before these rows (families)
    rotate: set[int] = field(default_factory=set)  # header cells set sideways in LaTeX
    spec: str = ""  # LaTeX column spec; default: l for text, r for numbers
    wide: bool | None = None  # table* across both columns; None: only when a column is too narrow
    latex_drop: set[int] = field(default_factory=set)  # columns left out of LaTeX (in caption)

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
        """A booktabs ``table`` (``table*`` when ``wide``) at 8 pt, bold as ``\\textbf``.

        Needs ``\\usepackage{booktabs,graphicx}``; sized to fit a 10 pt two-column column.
        """

        def cell(i: int, j: int, text: str) -> str:
            t = latex_text(text)
            return rf"\textbf{{{t}}}" if (i, j) in self.bold else t

        def head(j: int, text: str) -> str:
            t = latex_text(text)
            return rf"\rotatebox{{90}}{{{t}}}" if j in self.rotate else t

        keep = [j for j in range(len(self.header)) if j not in self.latex_drop]
        spec = self._spec(keep)
        body = []
        for i, r in enumerate(self.rows):
            if i in self.rules and i:
                body.append(r"\midrule")
            body.append(" & ".join(cell(i, j, r[j]) for j in keep) + r" \\")
        wide = self.wide if self.wide is not None else self.width_pt() > COLUMN_PT
        env = "table*" if wide else "table"
        return "\n".join(
            [
                rf"\begin{{{env}}}[t]",
                r"\centering",
                r"\footnotesize",
                r"\setlength{\tabcolsep}{3pt}",
                rf"\caption{{{latex_text(caption)}}}",
                rf"\label{{{label}}}",
                rf"\begin{{tabular}}{{{spec}}}",
                r"\toprule",
                " & ".join(head(j, self.header[j]) for j in keep) + r" \\",
                r"\midrule",
                *body,
                r"\bottomrule",
                r"\end{tabular}",
                rf"\end{{{env}}}",
                "",
            ]
        )

    def _spec(self, keep: list[int]) -> str:
        if self.spec:
            return "".join(_split_spec(self.spec)[j] for j in keep)
        return "".join("r" if j and self._numeric(j) else "l" for j in keep)

    def width_pt(self) -> float:
        """Estimated natural width of the LaTeX tabular at 8 pt with 3 pt column padding."""
        keep = [j for j in range(len(self.header)) if j not in self.latex_drop]
        specs = _split_spec(self._spec(keep))
        total = 0.0
        for k, j in enumerate(keep):
            fixed = re.search(r"p\{([\d.]+)(cm|pt)", specs[k])
            if fixed:
                total += float(fixed.group(1)) * (CM_PT if fixed.group(2) == "cm" else 1)
            else:
                texts = [r[j] for r in self.rows]
                if j not in self.rotate:
                    texts.append(self.header[j])
                total += max((text_width_pt(t) for t in texts), default=0.0)
            total += 2 * COLSEP_PT
        return total

    def _numeric(self, j: int) -> bool:
        """True when every cell of column ``j`` is a number (or missing): right-aligned."""
        return all(r[j] == MISSING or r[j].lstrip("-")[:1].isdigit() for r in self.rows)


COLUMN_PT = 229.5  # \\columnwidth of a 10 pt two-column article (letter paper)
TEXT_PT = 469.0  # \\textwidth of the same
CM_PT = 28.45
COLSEP_PT = 3.0
# Widths at 8 pt (Computer Modern, T1), in points, erring wide: digits 4.0, most letters
# 4.0-4.4, capitals and symbols wider.
_NARROW = set("iljtfr.,:;'|!()[]-")


def text_width_pt(text: str) -> float:
    """Estimated width of ``text`` set at 8 pt (an upper estimate for lower-case text)."""
    width = 0.0
    for ch in text:
        if ch in (INCOMPLETE, BELOW_CHANCE):
            width += 3.5
        elif ch in _NARROW:
            width += 2.6
        elif ch.isupper() or ch in "±×≈−ΔmwMW%":
            width += 6.2
        else:
            width += 4.3
    return width


def _split_spec(spec: str) -> list[str]:
    """Column specs of a tabular spec: l, r, c, or [>{...}]p{...}."""
    out, i = [], 0
    while i < len(spec):
        j = i
        if spec[j] == ">":
            depth, j = 0, j + 1
            while True:
                depth += {"{": 1, "}": -1}.get(spec[j], 0)
                j += 1
                if depth == 0:
                    break
        if spec[j] in "pmb":
            j = spec.index("}", j) + 1
        else:
            j += 1
        out.append(spec[i:j])
        i = j
    return out


def latex_text(text: str) -> str:
    """Escape LaTeX specials, then spell the few symbols the tables use."""
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return out


def number(value: float, digits: int = 3) -> str:
    """Fixed-point text, or the missing mark for NaN."""
    return MISSING if value is None or math.isnan(value) else f"{value:.{digits}f}"


def significant(value: float, digits: int = 3) -> str:
    """Fixed-point text with at least ``digits`` significant digits (0.00123, 14.2, 203)."""
    if value is None or math.isnan(value):
        return MISSING
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def p_value(value: float) -> str:
    """p-values: three decimals, or two significant digits in scientific form below 1e-3."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:.1e}" if value < 1e-3 else f"{value:.3f}"


def statistic(value: float) -> str:
    """A Wilcoxon W: an integer or half-integer sum of ranks, printed as such."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:g}"


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


def _bold_best_columns(
    table: Table, means: list[list[float]], first: int, lowest: bool = False
) -> None:
    """Bold, per column from ``first``, every cell whose displayed value is the best shown."""
    for j in range(len(means[0]) if means else 0):
        col = [(i, round(row[j], 3)) for i, row in enumerate(means) if not math.isnan(row[j])]
        if col:
            best = (min if lowest else max)(v for _, v in col)
            table.bold |= {(i, j + first) for i, v in col if v == best}


def families(runs: pd.DataFrame) -> pd.Series:
    """Family of every detector that has a run."""
    s = stats.simple(runs)
    s = s[s["detector"] != ""]
    return s.groupby("detector")["family"].first()


def detector_order(runs: pd.DataFrame, suites: str = "main") -> list[str]:
    """Detectors that ran (finished or failed; skipped-only ones are listed elsewhere),
    ordered by family (ff, bp, bpl, ref, pyod, others) then name. ``suites``: "main" for the
    accuracy suites, "all" to include the memory study."""
    f = stats.main_trials(runs) if suites == "main" else stats.simple(runs)
    f = f[(f["detector"] != "") & (f["status"] != SKIPPED)]
    fam = f.groupby("detector")["family"].first()
    return sorted(fam.index, key=lambda d: (stats.family_rank(fam[d]), d))


def _family_rules(dets: list[str], fam: pd.Series) -> set[int]:
    return {i for i in range(1, len(dets)) if fam.get(dets[i]) != fam.get(dets[i - 1])}


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


NAME_MAX_CM = 2.3  # longer detector names wrap at their hyphens


def name_spec(names: list[str]) -> str:
    """A left column as wide as the longest name, at most ``NAME_MAX_CM`` (then wrapping)."""
    cm = min(NAME_MAX_CM, max((text_width_pt(n) for n in names), default=0) / CM_PT)
    return rf">{{\raggedright\arraybackslash\hspace{{0pt}}}}p{{{cm:.2f}cm}}"


def _column_parts(full: Table) -> list[Table]:
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


MEAN = "mean"
RANK = "rank"


@dataclass
class MetricTables:
    """One suite of a metric: the Markdown table (mean ± std) and LaTeX tables (means) that
    split the datasets into column-sized groups."""

    suite: str
    datasets: list[str]
    markdown: Table
    latex: list[Table]
    ranking: stats.Ranking


def metric_tables(runs: pd.DataFrame, m: ScoreMetric) -> list[MetricTables]:
    """Per main suite: detectors (rows, grouped by family) x datasets (columns), then the mean
    over datasets (THE mean of the report) and the average rank over blocks.

    Best per column in bold; † = missing some trials (a cell) or datasets (the mean);
    ‡ = worse than chance (``m.chance``, or the dataset's test anomaly share: a ``chance`` row).
    """
    name, sign = m.name, 1.0 if m.higher_is_better else -1.0
    c = stats.cells(runs, name)
    dets = detector_order(runs)
    fam = families(runs)
    chance = stats.chance_share(runs) if m.chance is None else None
    out = []
    for suite, datasets in stats.suites(runs).items():
        means = stats.mean_over_datasets(c, datasets)
        rk = stats.friedman(sign * _block_matrix(runs, name, datasets))
        avg = rk.average
        suite_dets = [
            d for d in dets if d in means.index or any((x, d) in c.index for x in datasets)
        ]
        md_rows, tex_rows, values = [], [], []
        for d in suite_dets:
            md_row, tex_row, vrow = [d], [d], []
            for ds in datasets:
                ch = m.chance if chance is None else float(chance.get(ds, float("nan")))
                if (ds, d) in c.index:
                    r = c.loc[(ds, d)]
                    mark = ("" if r["complete"] else INCOMPLETE) + (
                        BELOW_CHANCE if sign * r["mean"] < sign * ch else ""
                    )
                    md_row.append(mean_std(r["mean"], r["std"]) + mark)
                    tex_row.append(number(r["mean"]) + mark)
                    vrow.append(float(r["mean"]))
                else:
                    md_row.append(MISSING)
                    tex_row.append(MISSING)
                    vrow.append(float("nan"))
            if d in means.index:
                mean = means.loc[d]
                mark = "" if mean["complete"] else INCOMPLETE
                md_row.append(number(mean["mean"]) + mark)
                tex_row.append(number(mean["mean"]) + mark)
                vrow.append(float(mean["mean"]) if mean["complete"] else float("nan"))
            else:
                md_row.append(MISSING)
                tex_row.append(MISSING)
                vrow.append(float("nan"))
            rank = float(avg.get(d, float("nan")))
            md_row.append(number(rank, 2))
            tex_row.append(number(rank, 1))
            md_rows.append(md_row)
            tex_rows.append(tex_row)
            values.append(vrow)
        header = ["detector", *datasets, MEAN, RANK]
        md = Table(header, md_rows, rules=_family_rules(suite_dets, fam))
        _bold_best_columns(md, values, 1, lowest=not m.higher_is_better)
        ranks = [[float(avg.get(d, float("nan")))] for d in suite_dets]
        _bold_best_columns(md, [[round(r[0], 2)] for r in ranks], len(datasets) + 2, lowest=True)
        if chance is not None:
            md.rows.append(
                ["chance", *(number(chance.get(ds, float("nan"))) for ds in datasets), "", ""]
            )
            md.rules.add(len(md.rows) - 1)
        rows = [*tex_rows, md.rows[-1]] if chance is not None else tex_rows
        latex = _column_parts(Table(header, rows, bold=set(md.bold), rules=set(md.rules)))
        out.append(MetricTables(suite, datasets, md, latex, rk))
    return out


def _block_matrix(runs: pd.DataFrame, name: str, datasets: list[str]) -> pd.DataFrame:
    b = stats.blocks(runs, name)
    return b[b.index.get_level_values("dataset").isin(datasets)] if len(b) else b


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


def rank_table(r: stats.Ranking) -> Table:
    """Average rank per detector over blocks (1 = best), best first and bold."""
    avg = r.average
    rows = [[d, number(v, 2)] for d, v in avg.items()]
    table = Table(["detector", "average rank"], rows)
    if len(avg):
        table.bold = {(i, 1) for i, v in enumerate(avg) if round(v, 2) == round(avg.iloc[0], 2)}
    return table


def cost_table(cost: pd.DataFrame, fam: pd.Series) -> Table:
    """Mean AUROC over datasets against mean peak training memory (MiB, 4 significant
    digits) and fit time (s, 3 significant digits), rows grouped by family; Pareto flags
    M (memory) and T (time)."""
    order = sorted(cost.index, key=lambda d: (stats.family_rank(fam.get(d, "")), d))
    rows = []
    for d in order:
        r = cost.loc[d]
        flags = ("M" if r["pareto_memory"] else "") + ("T" if r["pareto_time"] else "")
        rows.append(
            [
                d,
                number(r["auroc"]),
                significant(r["peak_train_mem_bytes"] / 2**20, 4),
                significant(r["fit_seconds"], 3),
                flags,
            ]
        )
    return Table(
        ["detector", "mean AUROC", "memory MiB", "fit s", "Pareto"],
        rows,
        rules=_family_rules(order, fam),
        spec=name_spec(order) + "rrrl",
        rotate={1, 2, 3, 4},
    )


MIB = 2**20


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
        key=lambda x: (stats.family_rank(sweep.loc[sweep["series"] == x, "family"].iloc[0]), x),
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
        sweep.groupby("series"), key=lambda kv: (stats.family_rank(kv[1]["family"].iloc[0]), kv[0])
    ):
        family = g["family"].iloc[0]
        a = analytic[
            analytic["families"].str.split(", ").map(lambda fams, f=family: f in fams)
            & (analytic["width"] == g["width"].iloc[0])
            & (analytic["batch_size"] == g["batch_size"].iloc[0])
        ]
        measured = stats.slope(g["depth"], g["peak_train_mem_bytes"]) / MIB
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


def signed(value: float, digits: int = 3) -> str:
    """A difference with its sign (+0.012, −0.030)."""
    if value is None or math.isnan(value):
        return MISSING
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def paired_row(label: str, p: object, holm_p: float, per_dataset: pd.Series) -> dict[str, object]:
    """Cells of one paired comparison (a ``reports.paired.Paired``) and its per-dataset medians."""
    return {
        "pair": label,
        "n": str(p.n),
        "median Δ [95% CI]": f"{signed(p.median_diff)} [{signed(p.ci_low)}, {signed(p.ci_high)}]",
        "W": statistic(p.statistic),
        "p": p_value(p.p) + ("" if p.method == "n/a" else f" ({p.method})"),
        "p Holm": p_value(holm_p),
        "W/L/T": f"{p.wins}/{p.losses}/{p.ties}",
        "per_dataset": per_dataset,
        "median": signed(p.median_diff),
        "ci": f"[{signed(p.ci_low)}, {signed(p.ci_high)}]",
        "p_only": p_value(p.p),
        "method": p.method,
    }


PAIRED_HEADER = ["pair", "n", "median Δ [95% CI]", "W", "p", "p Holm", "W/L/T"]


def paired_table(rows: list[dict[str, object]], datasets: list[str]) -> tuple[Table, Table]:
    """Markdown (with the median difference per dataset, where signs can flip) and LaTeX
    (without the per-dataset columns, which would not fit a column)."""
    md = Table(
        [*PAIRED_HEADER, *(f"median Δ {d}" for d in datasets)],
        [
            [str(r[h]) for h in PAIRED_HEADER]
            + [signed(r["per_dataset"].get(d, float("nan"))) for d in datasets]
            for r in rows
        ],
    )
    tex = Table(
        ["pair", "n", "median Δ", "95% CI", "p", "p Holm", "W/L/T"],
        [
            [
                str(r["pair"]),
                str(r["n"]),
                str(r["median"]),
                str(r["ci"]),
                ("" if r["method"] in ("exact", "n/a") else "≈") + str(r["p_only"]),
                str(r["p Holm"]),
                str(r["W/L/T"]),
            ]
            for r in rows
        ],
        spec="lrrlrrr",
        rotate={1, 2, 4, 5, 6},
        latex_drop={1},  # every pair has the same blocks: n goes in the caption
    )
    return md, tex
