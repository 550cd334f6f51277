"""The trade-off study: peak training memory and AUROC together as the network grows.

Reads the runs of the ``tradeoff`` suites (``bench/suites.py``): every detector on a grid
of depths x widths. A cell is (detector, dataset, depth, width). Aggregation, as in the rest
of the report: runs of one trial are averaged, then normal classes per seed, then mean and
sample std (ddof=1) over seeds, for AUROC (the detector's declared rule, ``auroc``) and for
peak training memory alike. FF against each backprop twin is paired over blocks (dataset,
normal class; seeds averaged first, ``reports.paired``), one test per (objective, depth,
width, twin), Holm-corrected over all of them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

from reports import figures, paired, stats
from reports.runs import FINISHED, param
from reports.tables import MISSING, PLUS_MINUS, Table, mean_std, number, p_value, significant

SUITES = stats.TRADEOFF_SUITES
# methods: detector names less "-<objective>-<arch>", in table order
FAMILIES = ("ff", "bp", "bp-ckpt", "bp-accum", "bpl", "untrained")
TRAINED = FAMILIES[:-1]  # drawn; the untrained control's memory is calibration only
TWINS = FAMILIES[1:-1]
ALPHA = 0.05
MIB = 2**20
CELL = ["detector", "prefix", "objective", "arch", "dataset", "depth", "width"]
VALUES = ["auroc", "peak_train_mem_bytes"]
_DEPTH_SIZE = {2: 10, 4: 22, 8: 40, 16: 64}  # marker area (pt²) by depth


def trade_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished runs of the trade-off suites with AUROC and peak training memory, newest
    detector versions only; ``depth`` and ``width`` from the MLP metrics, or for a CNN from
    its ``hp.channels`` (conv blocks + the final linear layer; widest block)."""
    s = stats.simple(runs)
    s = s[s["suite"].isin(SUITES) & (s["status"] == FINISHED) & (s["detector"] != "")]
    s = stats.newest_versions(s)
    channels = stats.column(runs, param("hp.channels")).reindex(s.index)
    for i in s.index[s["depth"].isna()]:
        c = channels.get(i)
        if isinstance(c, str) and c.startswith("["):
            c = json.loads(c)
            s.loc[i, ["depth", "width"]] = [len(c) + 1, max(c)]
    s = s.dropna(subset=["depth", "width", *VALUES]).copy()
    s["prefix"] = [
        d.replace(f"-{o}-{a}", "", 1)
        for d, o, a in zip(s["detector"], s["objective"], s["arch"], strict=True)
    ]
    return s


def per_seed(t: pd.DataFrame, name: str) -> pd.DataFrame:
    """One value per (cell, seed): runs of a trial averaged, then normal classes."""
    trial = t.groupby([*CELL, "normal_class", "seed"], as_index=False)[name].mean()
    return trial.groupby([*CELL, "seed"], as_index=False)[name].mean()


def cells(t: pd.DataFrame) -> pd.DataFrame:
    """Per cell: mean, std (ddof=1) and seeds of AUROC and of peak training memory."""
    parts = []
    for name in VALUES:
        agg = per_seed(t, name).groupby(CELL)[name].agg(["mean", "std", "count"])
        parts.append(agg.rename(columns=lambda c, n=name: f"{n}_{c}"))
    out = pd.concat(parts, axis=1).reset_index()
    return out.rename(columns={"auroc_count": "n_seeds"}).drop(columns="peak_train_mem_bytes_count")


def block_values(t: pd.DataFrame, name: str) -> pd.DataFrame:
    """Blocks (dataset, normal class) x cells keyed (detector, depth, width): ``name``
    averaged over seeds (runs of one trial averaged first)."""
    trial = t.groupby([*CELL, "normal_class", "seed"], as_index=False)[name].mean()
    blocks = trial.groupby([*CELL, "normal_class"])[name].mean()
    out = blocks.reset_index().pivot_table(
        index=["dataset", "normal_class"], columns=["detector", "depth", "width"], values=name
    )
    return out.sort_index()


@dataclass(frozen=True)
class Comparison:
    """FF against one backprop twin at one (objective, arch, depth, width), over blocks."""

    objective: str
    arch: str
    depth: float
    width: float
    twin: str  # bp | bpl
    ff_memory: float  # mean over the blocks both have of the seed-averaged peak (bytes)
    twin_memory: float
    ff_auroc: float
    twin_auroc: float
    result: paired.Paired  # AUROC of FF minus the twin's, paired over blocks
    p_holm: float

    @property
    def memory_ratio(self) -> float:
        """Twin's memory / FF's: FF uses 1/ratio of the twin's memory."""
        return self.twin_memory / self.ff_memory if self.ff_memory > 0 else float("nan")

    @property
    def memory_saved(self) -> float:
        """Twin's memory minus FF's (bytes): a cost both pay alike (BLAS scratch) cancels."""
        return self.twin_memory - self.ff_memory

    @property
    def costs_accuracy(self) -> bool:
        return paired.is_significant(self.p_holm, ALPHA) and self.result.median_diff < 0

    @property
    def gains_accuracy(self) -> bool:
        return paired.is_significant(self.p_holm, ALPHA) and self.result.median_diff > 0


def compare(t: pd.DataFrame) -> list[Comparison]:
    """Every FF cell against each twin cell of the same network, Holm over all of them."""
    auroc, memory = block_values(t, "auroc"), block_values(t, "peak_train_mem_bytes")
    found = []
    nets = t[t["prefix"] == "ff"][["objective", "arch", "depth", "width"]].drop_duplicates()
    for objective, arch, depth, width in sorted(nets.itertuples(index=False, name=None)):
        ff = (f"ff-{objective}-{arch}", depth, width)
        for twin in TWINS:
            other = (f"{twin}-{objective}-{arch}", depth, width)
            if ff not in auroc or other not in auroc:
                continue
            both = pd.concat(
                [auroc[ff], auroc[other], memory[ff], memory[other]], axis=1, keys=range(4)
            ).dropna()
            if both.empty:
                continue
            result = paired.paired(both[0].to_numpy(), both[1].to_numpy())
            found.append(
                (
                    objective,
                    arch,
                    depth,
                    width,
                    twin,
                    both[2].mean(),
                    both[3].mean(),
                    both[0].mean(),
                    both[1].mean(),
                    result,
                )
            )
    adjusted = paired.holm([f[-1].p for f in found])
    return [Comparison(*f, p_holm=p) for f, p in zip(found, adjusted, strict=True)]


def mib(value: float) -> str:
    """MiB in at most four characters: 3 significant digits from 1 MiB up, else 2 decimals."""
    return significant(value, 3) if value >= 1 else number(value, 2)


def _ratio_text(ratio: float) -> str:
    if math.isnan(ratio):
        return MISSING
    return f"1/{ratio:.1f}" if ratio >= 1 else f"{1 / ratio:.1f}×"


def _signed(v: float) -> str:
    return MISSING if math.isnan(v) else f"{round(v, 3) + 0.0:+.3f}".replace("-", "−")


def _cell_text(c: Comparison) -> str:
    r = c.result
    return (
        f"FF uses {_ratio_text(c.memory_ratio)} of {c.twin}'s peak training memory "
        f"({significant(c.ff_memory / MIB, 3)} vs {significant(c.twin_memory / MIB, 3)} MiB) "
        f"at {_signed(r.median_diff)} AUROC (median over n = {r.n} blocks, p = "
        f"{p_value(r.p)}, Holm {p_value(c.p_holm)})"
    )


def summary(comparisons: list[Comparison]) -> list[str]:
    """Sentences: the largest cell of each network against each twin, then where FF's
    saving costs accuracy (Holm-significant loss), where it gains, and where it does not
    differ."""
    if not comparisons:
        return []
    lines = []
    for (objective, arch), group in _by_network(comparisons).items():
        depth = max(c.depth for c in group)
        width = max(c.width for c in group if c.depth == depth)
        top = [c for c in group if c.depth == depth and c.width == width]
        lines.append(
            f"- {objective}-{arch}, at depth {depth:g}, width {width:g}: "
            + "; ".join(f"against {c.twin}, {_cell_text(c)}" for c in top)
            + "."
        )
        for twin in TWINS:
            mine = [c for c in group if c.twin == twin]
            if not mine:
                continue
            cost = [c for c in mine if c.costs_accuracy]
            gain = [c for c in mine if c.gains_accuracy]
            lines.append(
                f"- {objective}-{arch} against {twin}: of {len(mine)} cells, FF is "
                f"significantly (Holm-corrected p < {ALPHA}) less accurate in {len(cost)} "
                f"({_cells(cost)}), more accurate in {len(gain)} ({_cells(gain)}) and not "
                f"significantly different in {len(mine) - len(cost) - len(gain)}; its "
                f"memory is below {twin}'s in {sum(c.memory_ratio > 1 for c in mine)} of "
                f"{len(mine)} cells."
            )
    return lines


def _cells(group: list[Comparison]) -> str:
    if not group:
        return "none"
    return ", ".join(f"{c.depth:g}×{c.width:g} ({_signed(c.result.median_diff)})" for c in group)


def _by_network(comparisons: list[Comparison]) -> dict[tuple[str, str], list[Comparison]]:
    out: dict[tuple[str, str], list[Comparison]] = {}
    for c in comparisons:
        out.setdefault((c.objective, c.arch), []).append(c)
    return out


def _family_detectors(c: pd.DataFrame, objective: str, arch: str) -> list[str]:
    present = set(c["detector"])
    return [d for d in (f"{f}-{objective}-{arch}" for f in FAMILIES) if d in present]


def cell_table(c: pd.DataFrame, dataset: str, objective: str, arch: str) -> tuple[Table, Table]:
    """Rows (width, depth); per family AUROC, then peak training memory (MiB), each mean ±
    std over seeds in Markdown and the mean in LaTeX; the untrained control's memory (it
    only calibrates) and the parameter count are left out of LaTeX."""
    g = c[(c["dataset"] == dataset) & (c["objective"] == objective) & (c["arch"] == arch)]
    dets = _family_detectors(g, objective, arch)
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
                _ratio_text(c.memory_ratio),
                significant(c.memory_saved / MIB, 3),
                _signed(r.median_diff),
                str(r.n),
                p_value(r.p) + ("" if r.method in ("exact", "n/a") else " ≈"),
                p_value(c.p_holm) + ("*" if paired.is_significant(c.p_holm, ALPHA) else ""),
            ]
        )
    return Table(
        ["network", "twin", "depth", "width", "FF memory", "MiB saved", "Δ AUROC", "n", "p",
         "p Holm"],
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


def figure(c: pd.DataFrame, dataset: str, out_dir: Path) -> list[Path]:
    """Peak training memory (x, log) against AUROC (y) on one dataset: one panel per
    (objective, width), one line per family following depth, marker area growing with
    depth; full text width."""
    g = c[c["dataset"] == dataset]
    nets = sorted(g[["objective", "arch"]].drop_duplicates().itertuples(index=False, name=None))
    widths = sorted(g["width"].unique())
    with rc_context(figures.STYLE):
        fig = figures._new(figures.TEXT_WIDTH_IN, 0.9 + 1.55 * len(nets))
        axes = fig.subplots(len(nets), len(widths), squeeze=False, sharey=True)
        for i, (objective, arch) in enumerate(nets):
            for j, width in enumerate(widths):
                ax = axes[i][j]
                panel = g[(g["objective"] == objective) & (g["arch"] == arch)]
                panel = panel[panel["width"] == width]
                for det in _family_detectors(panel, objective, arch):
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
        fig.legend(handles=_legend(g), loc="outside lower center", ncols=4, frameon=False)
        return figures._save(fig, out_dir, f"tradeoff_{_slug(dataset)}")


def _family(line: pd.DataFrame) -> str:
    return str(line["family"].iloc[0]) if "family" in line else ""


def _legend(g: pd.DataFrame) -> list[Line2D]:
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


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def section(doc: Any, runs: pd.DataFrame) -> None:
    """The report section: per dataset a figure and a table per network; FF against its
    twins per cell, paired over blocks; sentences computed from those tests."""
    t = trade_runs(runs)
    if t.empty:
        return  # no trade-off runs: nothing to say
    doc.add("## Trade-off study: peak training memory and AUROC as the network grows", "")
    c = cells(t)
    c = c.merge(
        t.groupby("detector")["family"].first().rename("family"),
        left_on="detector",
        right_index=True,
    )
    n_params = t.groupby(CELL)["n_params"].max() if "n_params" in t else None
    c["n_params"] = (
        [n_params.get(tuple(k), np.nan) for k in c[CELL].itertuples(index=False, name=None)]
        if n_params is not None
        else np.nan
    )
    budget = _budget(runs, t)
    doc.add(
        f"Suites {', '.join(sorted(t['suite'].unique()))}: every detector on every (depth, "
        f"width) cell, {budget}. AUROC is each detector's declared rule (`auroc`: FF and "
        "bp `sum`, bpl `last`, untrained `sum`; every rule is in `results.csv` as "
        "`auroc.<rule>`); memory is the peak training memory during `fit` (meter "
        f"{', '.join(sorted(set(t['meter']) - {''})) or MISSING}; parameters allocated "
        "before the meter starts, the BLAS library's per-call scratch inside, the same for "
        "FF and its twins at one width; for the untrained control only its calibration). "
        "Aggregation: runs of one trial averaged, normal classes averaged per seed, then "
        "mean ± std (ddof=1) over seeds. The accuracy sections above leave this suite's "
        "runs out (a detector there is a grid of networks, not one).",
        "",
    )
    comparisons = compare(t)
    if comparisons:
        doc.add("In words (computed from the tests below):", "", *summary(comparisons), "")
    for dataset in sorted(c["dataset"].unique()):
        doc.add(f"### {dataset}", "")
        doc.figure(
            figure(c, dataset, doc.out_dir / "figures"),
            f"{dataset}: AUROC against peak training memory (log), mean over seeds; one "
            "line per family following depth (larger marker: deeper); one panel per "
            "objective and width. The untrained control (memory: calibration only) is in "
            "the tables.",
        )
        g = c[c["dataset"] == dataset]
        for objective, arch in sorted(
            g[["objective", "arch"]].drop_duplicates().itertuples(index=False, name=None)
        ):
            md, tex = cell_table(c, dataset, objective, arch)
            doc.add(f"{objective}-{arch}, mean ± std over seeds:", "", md.markdown(), "")
            doc.latex(
                [tex],
                f"tradeoff_{_slug(dataset)}_{_slug(objective)}_{arch}",
                f"Trade-off on {dataset}, {objective}-{arch}: AUROC and peak training memory "
                "(MiB) per depth and width, mean over seeds (std in report.md).",
            )
    if comparisons:
        doc.add(
            "### FF against its backprop twins, cell by cell",
            "",
            "FF memory: FF's mean peak training memory as a fraction of the twin's (blocks "
            "both have, seeds averaged); MiB saved: the twin's mean peak minus FF's, in which "
            "a cost both pay alike (the BLAS library's per-call scratch) cancels. Δ AUROC: "
            "median over blocks (dataset, normal class; "
            "seeds averaged first) of FF − twin; p: two-sided Wilcoxon signed-rank test "
            f"(≈: normal approximation), Holm-corrected over the {len(comparisons)} tests; "
            f"* marks p Holm < {ALPHA}. With n blocks, no two-sided exact test can reach "
            "p below 2/2ⁿ.",
            "",
        )
        table = comparison_table(comparisons)
        doc.add(table.markdown(), "")
        parts = latex_parts(table)
        doc.latex(
            parts,
            "tradeoff_twins",
            [
                f"{p.rows[0][0]}: FF against each backprop twin per (depth, width): FF's "
                "share of the twin's memory, median AUROC difference over blocks (their "
                f"number n in report.md), Wilcoxon p and Holm's p over all {len(comparisons)} "
                "tests (*: below 0.05)."
                for p in parts
            ],
        )


def _budget(runs: pd.DataFrame, t: pd.DataFrame) -> str:
    """The training budget the runs logged (batch size, step cap, optimizer steps taken)."""
    trained = t[t["prefix"] != "untrained"]
    if trained.empty:
        return "no trained detector"
    steps = trained["n_steps"].dropna() if "n_steps" in trained else pd.Series(dtype=float)
    caps = stats.column(runs, param("hp.max_steps")).reindex(trained.index).dropna()
    batch = sorted(set(trained["batch_size"].dropna()))
    out = f"batch size {', '.join(f'{b:g}' for b in batch) or MISSING}"
    if len(caps):
        out += f", at most {', '.join(sorted(set(caps.astype(str))))} optimizer steps"
    if len(steps):
        out += (
            f" (taken: {steps.min():g}–{steps.max():g})"
            if steps.nunique() > 1
            else (f" (taken: {steps.iloc[0]:g} in every trained run)")
        )
    return out
