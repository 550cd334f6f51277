"""How the tuned networks were chosen: per distinct selection (tag ``bench.selection``), its
procedure, criterion, search space, budget, tuning splits and command, then each tuned
detector's chosen values (``reports.analysis.tuned``)."""

from __future__ import annotations

from typing import Any

from reports.analysis.context import Context
from reports.analysis.tuned import selections
from reports.render.document import Document
from reports.render.formats import number
from reports.render.table import Table, name_spec

TITLE = "Tuned networks: how they were chosen"
_SHARED = (
    "procedure",
    "criterion",
    "search_space",
    "budget",
    "tuning_splits",
    "command",
    "margin",
    "gains",
)


def write(doc: Document, ctx: Context) -> None:
    records = selections(ctx.runs)
    if not records:
        return
    doc.add(
        f"## {TITLE}",
        "",
        "The `*-tuned` networks' configuration and scoring rule were chosen by a label-free "
        "procedure on tuning sets that no suite of this report contains (their runs never "
        "enter a table); every tuned run logged the selection behind it (tag "
        "`bench.selection`), printed here.",
        "",
    )
    groups: dict[str, list[str]] = {}
    for det, rec in records.items():
        groups.setdefault(_shared_key(rec), []).append(det)
    for k, dets in enumerate(groups.values(), 1):
        rec = records[dets[0]]
        if len(groups) > 1:
            doc.add(f"Selection {k} of {len(groups)}:", "")
        doc.add(*_describe(rec), "")
        doc.table(chosen_table({d: records[d] for d in dets}), f"tuned_{k}", "Chosen values.")


def _shared_key(rec: dict[str, Any]) -> str:
    return repr([rec.get(k) for k in _SHARED])


def _describe(rec: dict[str, Any]) -> list[str]:
    space = "; ".join(f"{k} in {v}" for k, v in rec.get("search_space", {}).items())
    budget = ", ".join(f"{k} = {v}" for k, v in rec.get("budget", {}).items())
    splits = rec.get("tuning_splits", [])
    sets = sorted({s[0] for s in splits})
    return [
        f"- procedure: {rec.get('procedure', '')}",
        f"- criterion: {rec.get('criterion', '')}",
        f"- search space: {space}",
        f"- budget: {budget}",
        f"- tuning sets: {', '.join(sets)} ({len(splits)} splits: (set, seed, normal class) "
        + "; ".join(f"({s[0]}, {s[1]}, {s[2]})" for s in splits)
        + ")",
        f"- command: `{rec.get('command', '')}`",
        *_stage_two(rec),
    ]


def _stage_two(rec: dict[str, Any]) -> list[str]:
    """The tricks' gains over the stage-1 choice and the margin they had to exceed."""
    if "margin" not in rec:
        return []
    margin = rec["margin"]
    gains = "; ".join(
        f"{objective}: " + ", ".join(f"{t} {g:+.4f}" for t, g in sorted(by.items()))
        for objective, by in rec.get("gains", {}).items()
    )
    return [
        f"- stage 2 (tricks): gain of each over the stage-1 choice, mean of FF and its twin: "
        f"{gains}; kept only above the margin {margin['value']:.4f} (the largest change of a "
        f"stage-1 choice's criterion under network seeds {margin['reseeds']})"
    ]


def chosen_table(records: dict[str, dict[str, Any]]) -> Table:
    """One row per tuned detector: its chosen values and their criterion."""
    keys = sorted({k for r in records.values() for k in r["chosen"] if k != "criterion"})
    header = ["detector", *keys, "criterion", "control of"]
    out = Table(header, [], spec=name_spec(list(records)) + "l" * (len(keys) + 2), wide=True)
    for det, rec in records.items():
        chosen = rec["chosen"]
        out.rows.append(
            [
                det,
                *(str(chosen.get(k, "")) for k in keys),
                number(chosen["criterion"], 4) if "criterion" in chosen else "",
                rec.get("control_of", ""),
            ]
        )
    return out
