"""What the report opens with: the learning verdict, FF against its twin and against PyOD, and
the memory ratio, each a sentence computed from the runs and linked to the table that holds it.

FF against its same-loss twin (``bp-*``) and against the best PyOD detector is tabled here per
verdict group (``reports.verdict``): a suite's datasets of one protocol. Unit: blocks (dataset,
normal class), seeds averaged first; two-sided Wilcoxon signed-rank, Holm-corrected across the
FF detectors of a group and comparison; median Δ with a 95% bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports import frontier, memory, paired, stats, tables, verdict
from reports.tables import MISSING, Table, name_spec, number, p_value, signed

VERDICT_TITLE = "Learning verdict"
HEADLINE_TITLE = "FF against its twin and the best PyOD detector"


@dataclass(frozen=True)
class Versus:
    """An FF detector against one other detector over a group's blocks."""

    other: str
    mean_other: float
    result: paired.Paired | None
    p_holm: float


@dataclass(frozen=True)
class Headline:
    """One FF detector of a group: its mean, its twin and the group's best PyOD detector."""

    detector: str
    mean: float
    twin: Versus
    pyod: Versus


def headlines(runs: pd.DataFrame, group: verdict.Group) -> list[Headline]:
    """Every FF detector of ``group`` against its same-loss twin and the best PyOD detector
    (chosen once per group by mean AUROC over its datasets, not per block)."""
    f = stats.finished(runs)
    f = f[f["dataset"].isin(group.datasets)]
    fam = f.groupby("detector")["family"].first()
    b = stats.blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(group.datasets)]
    means = {d: _mean(b[d]) for d in b.columns}
    pyods = [d for d in b.columns if fam.get(d) == "pyod" and not np.isnan(means[d])]
    best = max(pyods, key=lambda d: (means[d], d)) if pyods else ""
    ffs = sorted(d for d in b.columns if fam.get(d) == "ff")
    twin = {d: d.replace("ff-", "bp-", 1) for d in ffs}
    raw_twin = [_versus(b, d, twin[d], means) for d in ffs]
    raw_pyod = [_versus(b, d, best, means) for d in ffs]
    return [
        Headline(d, means[d], t, p)
        for d, t, p in zip(ffs, _holm(raw_twin), _holm(raw_pyod), strict=True)
    ]


def _mean(values: pd.Series) -> float:
    """The report's mean over the blocks present: datasets' means of blocks, then their mean."""
    values = values.dropna()
    return float(values.groupby(level="dataset").mean().mean()) if len(values) else np.nan


def _versus(b: pd.DataFrame, det: str, other: str, means: dict[str, float]) -> Versus:
    if other not in b:
        return Versus(other, np.nan, None, np.nan)
    both = b[[det, other]].dropna()
    if both.empty:
        return Versus(other, np.nan, None, np.nan)
    return Versus(
        other, means[other], paired.paired(both[det].to_numpy(), both[other].to_numpy()), np.nan
    )


def _holm(rows: list[Versus]) -> list[Versus]:
    adjusted = paired.holm([r.result.p if r.result else np.nan for r in rows])
    return [Versus(r.other, r.mean_other, r.result, p) for r, p in zip(rows, adjusted, strict=True)]


def delta(v: Versus) -> str:
    """``+0.012 [−0.003, +0.020]``: median Δ (FF − other) with its 95% bootstrap interval."""
    if v.result is None:
        return MISSING
    r = v.result
    return f"{signed(r.median_diff)} [{signed(r.ci_low)}, {signed(r.ci_high)}]"


def _p(v: Versus) -> str:
    if v.result is None or v.result.method == "n/a":
        return MISSING
    return p_value(v.p_holm) + ("*" if paired.is_significant(v.p_holm) else "")


def headline_table(rows: list[Headline], learned: set[str]) -> Table:
    """One row per FF detector; ``learned`` holds the detectors that beat their untrained
    control in this group (the verdict table). LaTeX keeps the FF detector, its AUROC, both
    differences and the best PyOD detector's name, to fit the text width."""
    header = [
        "FF detector",
        "AUROC",
        "twin",
        "twin AUROC",
        "FF − twin [95% CI]",
        "p Holm",
        "best PyOD",
        "PyOD AUROC",
        "FF − PyOD [95% CI]",
        "p Holm ",
        "FF / twin learned",
    ]
    names = name_spec([h.detector for h in rows])
    pyod = name_spec([h.pyod.other for h in rows])
    spec = names + "rlrrr" + pyod + "rrrl"  # LaTeX leaves out the twin, its and PyOD's AUROC
    out = Table(header, [], latex_drop={2, 3, 7, 10}, spec=spec, wide=True)
    for h in rows:
        out.rows.append(
            [
                h.detector,
                number(h.mean),
                h.twin.other,
                number(h.twin.mean_other),
                delta(h.twin),
                _p(h.twin),
                h.pyod.other or MISSING,
                number(h.pyod.mean_other),
                delta(h.pyod),
                _p(h.pyod),
                f"{_yes(h.detector in learned)} / {_yes(h.twin.other in learned)}",
            ]
        )
    return out


def _yes(flag: bool) -> str:
    return "yes" if flag else "no evidence"


def group_title(group: verdict.Group) -> str:
    return f"Verdict: {group.name}"


def summary(
    runs: pd.DataFrame, groups: list[verdict.Group], heads: list[list[Headline]]
) -> list[str]:
    """The findings, one bullet each, every number as the linked table prints it
    (``heads``: :func:`headlines` of each group)."""
    lines = []
    for g, rows in zip(groups, heads, strict=True):
        link = f"[table]({verdict.anchor(group_title(g))})"
        lines.append(f"- {verdict.sentence(g)} {link}")
        if rows:
            lines.append(f"- {_versus_sentence(g, rows)} {link}")
    for suite in stats.MEMORY_SUITES:
        line = memory_sentence(runs, suite)
        if line:
            title = memory.HEADING[suite].removeprefix("## ")
            lines.append(f"- {line} [table]({verdict.anchor(title)})")
    if not lines:
        lines.append("- No finished trained network: no verdict, no comparison.")
    return lines


def _versus_sentence(g: verdict.Group, rows: list[Headline]) -> str:
    """FF against its twin and PyOD on a group, naming whether the controls were beaten there."""
    learned = {t.detector for t in g.learned()}
    best = max(rows, key=lambda h: (h.mean if not np.isnan(h.mean) else -1.0, h.detector))
    where = "controls beaten here" if best.detector in learned else "no evidence of learning here"
    text = (
        f"on {g.name}, the best FF detector {best.detector} ({number(best.mean)}, "
        f"{where}) against its same-loss twin {best.twin.other}: "
        f"{delta(best.twin)}, p Holm {_p(best.twin)}"
    )
    if best.pyod.result is not None:
        text += (
            f"; against the best PyOD detector {best.pyod.other} ({number(best.pyod.mean_other)}):"
            f" {delta(best.pyod)}, p Holm {_p(best.pyod)}"
        )
    return text[0].upper() + text[1:] + "."


def memory_sentence(runs: pd.DataFrame, suite: str = memory.SGD) -> str:
    """At a memory suite's deepest depth: the method with the least peak memory, and per FF
    detector its cheapest backprop twin with that twin's peak and step time as multiples of
    FF's, as the memory tables print them."""
    p = frontier.points(runs, suite)
    if p.empty:
        return ""
    deepest = p[p["depth"] == p["depth"].max()]
    least = deepest.loc[deepest["peak_train_mem_bytes"].idxmin()]
    parts = []
    for ff, at in deepest.groupby("ff"):
        bp = at[at["family"] != "ff"]
        if bp.empty:
            continue
        twin = bp.loc[bp["peak_train_mem_bytes"].idxmin()]
        cost = (
            f", step time {number(twin['time_ratio'], 2)}x" if pd.notna(twin["time_ratio"]) else ""
        )
        parts.append(
            f"{ff}'s cheapest twin {twin['detector']} needs "
            f"{number(twin['memory_ratio'], 2)}x its peak{cost}"
        )
    meter = ", ".join(sorted(set(stats.memory_runs(runs, suite)["meter"].dropna()))) or MISSING
    head = (
        f"Peak training memory ({meter}, {memory.OPTIMIZER[suite]}) at depth "
        f"{least['depth']:g}: least {least['detector']} "
        f"({least['peak_train_mem_bytes'] / tables.MIB:.1f} MiB)"
    )
    return head + ("; " + "; ".join(parts) if parts else "") + "."
