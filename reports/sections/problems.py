"""The trials that did not finish: skipped ones, one line per reason, and a row per failed or
unfinished run with its error; none of them enters a table above."""

from __future__ import annotations

from core import schema
from reports.analysis.context import Context
from reports.analysis.frames import MISSING, column, simple
from reports.analysis.runs import FINISHED, SKIPPED
from reports.render.document import Document
from reports.render.table import Table


def write(doc: Document, ctx: Context) -> None:
    runs = ctx.runs
    doc.add("## Failed, skipped and unfinished trials", "")
    bad = runs[runs["status"] != FINISHED]
    if bad.empty:
        doc.add("None: every trial run finished.", "")
        return
    s = simple(bad)
    error = column(bad, "tags." + schema.TAG_ERROR).fillna("").astype(str)
    error = error.str.replace("|", "/").str.replace("\n", " ")
    doc.add(f"{len(bad)} trials did not finish; none of them enters a table above.", "")
    skipped = bad["status"] == SKIPPED
    if skipped.any():
        doc.add("Skipped by the harness, one line per reason:", "")
        for reason, idx in s[skipped].groupby(error[skipped]).groups.items():
            g = s.loc[idx]
            pairs = sorted(set(zip(g["detector"], g["dataset"], strict=True)))
            listed = _pairs_text(pairs)
            doc.add(f"- {reason or MISSING} ({len(pairs)} detector × dataset): {listed}")
        doc.add("")
    rows = [
        [
            str(bad.at[i, "run_name"]),
            s.at[i, "detector"],
            s.at[i, "dataset"],
            s.at[i, "normal_class"] or MISSING,
            s.at[i, "seed"] or MISSING,
            str(bad.at[i, "status"]),
            error[i] or MISSING,
        ]
        for i in bad.index[~skipped.to_numpy()]
    ]
    if rows:
        doc.add(
            Table(
                ["run", "detector", "dataset", "class", "seed", "status", "error"], rows
            ).markdown(),
            "",
        )


def _pairs_text(pairs: list[tuple[str, str]]) -> str:
    """Detector x dataset pairs, short: "a, b on x, y" for a full cross product, else
    "a on x, y; b on z"."""
    dets = sorted({d for d, _ in pairs})
    datasets = sorted({ds for _, ds in pairs})
    if len(pairs) == len(dets) * len(datasets):
        return f"{', '.join(dets)} on {', '.join(datasets)}"
    return "; ".join(f"{d} on {', '.join(ds for x, ds in pairs if x == d)}" for d in dets)
