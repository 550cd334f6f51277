"""What the report opens with: the learning verdict, FF against its twin and against PyOD, and
the memory ratio, each a sentence computed from the runs and linked to the table that holds it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.analysis.context import Context
from reports.analysis.frames import MEMORY_SUITES, MISSING
from reports.analysis.headlines import Headline
from reports.analysis.memory import SGD, memory_runs, points
from reports.analysis.verdict import Group
from reports.render.document import Document, anchor
from reports.render.formats import MIB, number
from reports.sections.memory import HEADING, OPTIMIZER
from reports.sections.verdict import delta, group_title, p_versus, sentence


def write(doc: Document, ctx: Context) -> None:
    doc.add(
        "## Findings",
        "",
        "Computed from the runs, each with a link to the table that holds its numbers; the "
        "controls and tests are defined in the next section.",
        "",
        *summary(ctx.runs, ctx.groups, ctx.heads),
        "",
    )


def summary(runs: pd.DataFrame, groups: list[Group], heads: list[list[Headline]]) -> list[str]:
    """The findings, one bullet each, every number as the linked table prints it
    (``heads``: the headlines of each group)."""
    lines = []
    for g, rows in zip(groups, heads, strict=True):
        link = f"[table]({anchor(group_title(g))})"
        lines.append(f"- {sentence(g)} {link}")
        if rows:
            lines.append(f"- {_versus_sentence(g, rows)} {link}")
    for suite in MEMORY_SUITES:
        line = memory_sentence(runs, suite)
        if line:
            title = HEADING[suite].removeprefix("## ")
            lines.append(f"- {line} [table]({anchor(title)})")
    if not lines:
        lines.append("- No finished trained network: no verdict, no comparison.")
    return lines


def _versus_sentence(g: Group, rows: list[Headline]) -> str:
    """FF against its twin and PyOD on a group, naming whether the controls were beaten there."""
    learned = {t.detector for t in g.learned()}
    best = max(rows, key=lambda h: (h.mean if not np.isnan(h.mean) else -1.0, h.detector))
    where = "controls beaten here" if best.detector in learned else "no evidence of learning here"
    text = (
        f"on {g.name}, the best FF detector {best.detector} ({number(best.mean)}, "
        f"{where}) against its same-loss twin {best.twin.other}: "
        f"{delta(best.twin)}, p Holm {p_versus(best.twin)}"
    )
    if best.pyod.result is not None:
        text += (
            f"; against the best PyOD detector {best.pyod.other} ({number(best.pyod.mean_other)}):"
            f" {delta(best.pyod)}, p Holm {p_versus(best.pyod)}"
        )
    return text[0].upper() + text[1:] + "."


def memory_sentence(runs: pd.DataFrame, suite: str = SGD) -> str:
    """At a memory suite's deepest depth: the method with the least peak memory, and per FF
    detector its cheapest backprop twin with that twin's peak and step time as multiples of
    FF's, as the memory tables print them."""
    p = points(runs, suite)
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
    meter = ", ".join(sorted(set(memory_runs(runs, suite)["meter"].dropna()))) or MISSING
    head = (
        f"Peak training memory ({meter}, {OPTIMIZER[suite]}) at depth "
        f"{least['depth']:g}: least {least['detector']} "
        f"({least['peak_train_mem_bytes'] / MIB:.1f} MiB)"
    )
    return head + ("; " + "; ".join(parts) if parts else "") + "."
