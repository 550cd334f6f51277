"""The memory study: peak training memory and time per step against depth, one part per
memory suite (plain SGD, then Adam), each FF detector beside its twins; the frontier of memory
against step time at every depth, stated in computed words (``reports.sections.frontier``);
and, under Adam, the share of FF's peak that is optimizer state.

Every number is a mean over seeds of per-seed means (``reports.analysis.memory``); a ratio is
a twin's mean over its FF detector's mean at the same depth, width and batch. The untrained
control (family ``ref``, zero steps) is the meter's floor: it is tabled, never a frontier
method.
"""

from __future__ import annotations

import pandas as pd

from core import schema
from reports.analysis.context import Context
from reports.analysis.frames import MEMORY_SUITE, MEMORY_SUITES, column, twin_map
from reports.analysis.memory import (
    ADAM,
    ADAM_STATE_TENSORS,
    BYTES_PER_FLOAT,
    SAVED_TENSORS_PER_LAYER,
    SGD,
    adam_states,
    analytic_memory,
    memory_runs,
    memory_sweep,
)
from reports.analysis.runs import tag
from reports.render.document import Document
from reports.render.formats import MIB, values
from reports.render.study_plots import memory_vs_depth, step_time_vs_depth
from reports.sections import frontier
from reports.sections.memory_tables import growth_table, memory_depth_tables, step_time_tables
from reports.sections.setup import HP_COLUMN

OPTIMIZER = {SGD: "plain SGD", ADAM: "Adam"}
HEADING = {
    SGD: "## Memory study: peak training memory versus depth",
    ADAM: "## Memory study with Adam: peak training memory versus depth",
}
SLUG = {SGD: "", ADAM: "_adam"}  # table and figure names: memory_depth, memory_depth_adam


def write(doc: Document, ctx: Context) -> None:
    """One part per memory suite with runs; one line saying so when neither has any."""
    runs = ctx.runs
    present = [s for s in MEMORY_SUITES if not memory_sweep(runs, suite=s).empty]
    if not present:
        doc.add(HEADING[SGD], "")
        doc.add(
            f"No finished runs of the {' or '.join(f'`{s}`' for s in MEMORY_SUITES)} "
            "suites with depth, width and peak training memory: no depth study.",
            "",
        )
    for suite in present:
        _suite(doc, runs, suite)


def _pairs(sweep: pd.DataFrame, twins: dict[str, list[str]]) -> list[tuple[str, pd.DataFrame]]:
    """(FF detector, its rows and its twins' rows) for every FF detector in ``sweep``; rows of
    detectors with no FF detector in the sweep come last, under ""."""
    out, seen = [], set()
    for ff in sorted(set(sweep["detector"]) & set(twins)):
        if (sweep.loc[sweep["detector"] == ff, "family"] != "ff").any():
            continue
        members = [ff, *twins[ff]]
        out.append((ff, sweep[sweep["detector"].isin(members)]))
        seen.update(members)
    rest = sweep[~sweep["detector"].isin(seen)]
    if len(rest):
        out.append(("", rest))
    return out


def _grid(doc: Document, sweep: pd.DataFrame, twins, name: str, caption: str, build) -> None:
    """``build``'s depth table per FF detector and its twins (all series when one pair)."""
    pairs = _pairs(sweep, twins)
    for ff, part in pairs:
        if len(pairs) > 1:
            doc.add(f"#### {ff or 'Detectors without an FF detector here'}", "")
        md, tex = build(part, twins)
        doc.add(md.markdown(), "")
        suffix = f"_{ff.removeprefix('ff-')}" if len(pairs) > 1 and ff else ""
        suffix = suffix or ("_other" if len(pairs) > 1 else "")
        doc.latex([tex], name + suffix, caption + (f" {ff} and its twins." if ff else ""))


def _suite(doc: Document, runs: pd.DataFrame, suite: str) -> None:
    sweep = memory_sweep(runs, suite=suite)
    slug = SLUG[suite]
    doc.add(HEADING[suite], "")
    doc.add("Configuration, as logged by the runs:", "", *memory_config(runs, suite), "")
    state = ADAM_STATE_TENSORS if suite == ADAM else 0  # per weight, kept by every rule
    analytic = analytic_memory(sweep, state)
    twins = twin_map(runs)
    meter = values(sweep["meter"])
    doc.add(
        f"Suite `{suite}` ({OPTIMIZER[suite]}). Mean ± std over seeds (seeds averaged first) "
        f"of peak training memory (MiB), meter {meter}; last columns: each twin / its FF "
        "detector, at the same depth.",
        "",
    )
    _grid(
        doc,
        sweep,
        twins,
        f"memory_depth{slug}",
        f"Peak training memory (MiB) against depth, and twin/FF, {OPTIMIZER[suite]}.",
        memory_depth_tables,
    )
    if suite == ADAM:
        doc.add(*adam_state(runs), "")
    doc.add(
        "Growth per added hidden layer: least-squares slope of the mean peak over depths "
        "(measured) against the analytic term of the detector's family. Analytic BP: the "
        f"layer's weight gradient (width² × {BYTES_PER_FLOAT} B) plus the activation "
        f"its Linear layer saves for it (batch × width × {BYTES_PER_FLOAT} B × "
        f"{SAVED_TENSORS_PER_LAYER}); analytic FF: 0, since a layer's graph and "
        "gradient are freed before the next layer trains"
        + (
            f"; under Adam both add its {ADAM_STATE_TENSORS} state tensors per weight "
            f"({ADAM_STATE_TENSORS} × width² × {BYTES_PER_FLOAT} B), kept for every layer"
            if state
            else ""
        )
        + ". Both lines start from the family's "
        "mean measured peak at the smallest depth; parameters are allocated before the meter "
        "starts. The memory twins (bp-ckpt, bp-accum) are in family bp but save part of its "
        "per-layer term: their measured/analytic is the share they keep.",
        "",
    )
    doc.table(
        growth_table(sweep, analytic),
        f"memory_growth{slug}",
        "Peak training memory added per hidden layer: measured slope and analytic term.",
    )
    doc.figure(
        memory_vs_depth(sweep, analytic, doc.out_dir / "figures", f"memory_vs_depth{slug}"),
        f"Peak training memory against depth ({meter}, {OPTIMIZER[suite]}), mean ± std over "
        "seeds, series dodged sideways so that equal ones stay visible; dotted: one analytic "
        "line per family (families with the same analytic term share it).",
    )
    steps = memory_sweep(runs, "step_seconds", suite)
    doc.add("### Time per optimizer step" + (" (Adam)" if suite == ADAM else ""), "")
    if steps.empty:
        doc.add(f"No `{suite}` run logged step_seconds.", "")
        return
    doc.add(
        "Fit seconds / optimizer steps, mean ± std over seeds; last columns: each twin / its "
        "FF detector.",
        "",
    )
    _grid(
        doc,
        steps,
        twins,
        f"step_time{slug}",
        f"Seconds per optimizer step against depth, and twin/FF, {OPTIMIZER[suite]}.",
        step_time_tables,
    )
    doc.figure(
        step_time_vs_depth(steps, doc.out_dir / "figures", f"step_time_vs_depth{slug}"),
        f"Seconds per optimizer step against depth ({OPTIMIZER[suite]}), mean ± std over seeds.",
    )
    frontier.write_part(doc, runs, suite, slug, OPTIMIZER[suite])


def adam_state(runs: pd.DataFrame) -> list[str]:
    """Per FF detector at the deepest depth of the Adam suite: its optimizer state (two
    float32 tensors per parameter, every layer's, all kept while later layers train) in MiB
    and as a share of its measured peak; beside it, its peak under plain SGD when measured."""
    states = adam_states(runs)
    if states is None:
        return ["No FF run of the Adam suite logged its parameter count: no optimizer-state share."]
    lines = []
    for a in states:
        versus = (
            f"; under plain SGD its peak is {a['plain'] / MIB:.1f} MiB"
            if pd.notna(a["plain"])
            else ""
        )
        lines.append(
            f"- {a['detector']} at depth {a['depth']:g}: Adam state {ADAM_STATE_TENSORS} × "
            f"{a['count']:,.0f} parameters × {BYTES_PER_FLOAT} B = {a['state'] / MIB:.1f} "
            f"MiB, {a['share']:.0%} of its measured peak ({a['peak'] / MIB:.1f} "
            f"MiB){versus}."
        )
    head = (
        "Optimizer state under Adam: FF keeps every layer's parameters (allocated before the "
        "meter starts) and Adam state (inside it), so that part of its peak does not shrink "
        "with layer-local training:"
    )
    return [head, "", *lines] if lines else []


def memory_config(runs: pd.DataFrame, suite: str = MEMORY_SUITE) -> list[str]:
    """A memory suite's configuration as logged: width, depths, batch, steps, optimizer,
    meter, device, seeds."""
    m = memory_runs(runs, suite)
    if m.empty:
        return []
    raw = runs.loc[m.index]
    depths = ", ".join(f"{d:g}" for d in sorted(m["depth"].unique()))
    steps = column(raw, HP_COLUMN + "max_steps")
    if not steps.notna().any():
        steps = column(raw, "metrics.n_steps")
    return [
        f"- Detectors: {values(m['detector'])}",
        f"- Width: {values(m['width'].map(lambda v: f'{v:g}'))}; depths (hidden layers): {depths}",
        f"- Batch size: {values(m['batch_size'].map(lambda v: f'{v:g}'))}; optimizer steps: "
        f"{values(steps.map(lambda v: f'{float(v):g}' if pd.notna(v) else v))}; "
        f"optimizer: {values(column(raw, HP_COLUMN + 'optimizer'))}; scored layers: "
        f"{values(column(raw, HP_COLUMN + 'score_layers'))}",
        f"- Memory meter: {values(m['meter'])}; "
        f"device: {values(column(raw, tag(schema.TAG_DEVICE)))}",
        f"- Seeds: {', '.join(sorted(set(m['seed']), key=lambda x: (len(x), x)))} "
        f"({len(m)} finished runs)",
    ]
