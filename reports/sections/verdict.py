"""The learning verdict section: per group (a suite's datasets of one protocol) every trained
network against its untrained control and the input norm, then each FF detector against its
same-loss twin and the group's best PyOD detector (``reports.analysis.verdict``,
``reports.analysis.headlines``)."""

from __future__ import annotations

from reports.analysis.context import Context
from reports.analysis.frames import MISSING
from reports.analysis.headlines import Headline, Versus
from reports.analysis.paired import Paired, is_significant, smallest_p
from reports.analysis.verdict import ALPHA, TRAINED_FAMILIES, Group, Test
from reports.render.document import Document, anchor
from reports.render.formats import number, p_value, signed
from reports.render.table import Table, name_spec

VERDICT_TITLE = "Learning verdict"


def write(doc: Document, ctx: Context) -> None:
    if ctx.main.empty:
        return
    doc.add(f"## {VERDICT_TITLE}", "")
    if not ctx.groups:
        doc.add(
            "No finished run of a trained network (families "
            f"{', '.join(TRAINED_FAMILIES)}): no verdict.",
            "",
        )
        return
    doc.add(
        "Did training help? Per group (a suite's datasets of one data protocol), every trained "
        "network's headline AUROC against two controls: its **untrained** control "
        "(`untrained-<objective>-<arch>`, for a `*-tuned` network `untrained-<objective>-"
        "<arch>-tuned`: the same network and seed with zero training steps, read with the "
        "detector's scoring rule; a control only where every hyperparameter it logged equals "
        "the detector's) and the **input norm** (`ref-input-norm`, the squared "
        "norm of the preprocessed input). Unit: blocks (dataset, normal class), seeds "
        "averaged first; AUROC columns are the report's mean (over datasets of per-dataset "
        "means) over the blocks both sides have; Δ is the median over blocks of detector − "
        "control with a 95% bootstrap interval (10 000 resamples, seed 0); p: one-sided "
        "Wilcoxon signed-rank (detector > control), Holm-corrected across the detectors of the "
        f"group, per control; * marks p Holm < {ALPHA}. `learned`: beats its untrained "
        "control after Holm.",
        "",
        "FF against its twin and PyOD: each FF detector's AUROC against its same-loss backprop "
        "twin (`bp-*`) and against the group's best PyOD detector (chosen once by mean AUROC, "
        "not per block); Δ = FF − other, median over blocks with its 95% bootstrap interval; p: "
        "two-sided Wilcoxon, Holm-corrected across the FF detectors of the group.",
        "",
    )
    for g, rows in zip(ctx.groups, ctx.heads, strict=True):
        title = group_title(g)
        slug = title.lower().replace(" ", "_").replace(",", "").replace(":", "")
        doc.add(f"### {title}", "", sentence(g), "", f"Datasets: {', '.join(g.datasets)}.", "")
        doc.table(
            table(g),
            slug,
            f"Learning verdict, {g.name}: trained networks against their untrained control "
            "and the input norm (one-sided Wilcoxon over blocks, Holm).",
        )
        if no_control(g):
            doc.add(no_control(g), "")
        if rows:
            learned = {t.detector for t in g.learned()}
            doc.table(
                headline_table(rows, learned),
                slug + "_ff",
                f"FF against its same-loss twin and the best PyOD detector, {g.name} "
                "(two-sided Wilcoxon over blocks, Holm).",
            )


def group_title(group: Group) -> str:
    return f"Verdict: {group.name}"


def controls_line(groups: list[Group]) -> str:
    """Where the controls were beaten: the context every FF-vs-BP or FF-vs-PyOD claim needs."""
    beaten = [g.name for g in groups if g.learned()]
    norm = [g.name for g in groups if any(t.significant for t in g.input_norm)]
    missed = [g.name for g in groups if not g.learned()]
    parts = [
        "Read with the learning verdict ([verdict]"
        f"({anchor(VERDICT_TITLE)})): a trained network beats its untrained "
        f"control on {'; '.join(beaten) or 'no group'}, and the input norm on "
        f"{'; '.join(norm) or 'no group'}."
    ]
    if missed:
        parts.append(
            f"No evidence of learning on {'; '.join(missed)}: a difference between detectors "
            "there measures the architectures' prior, not training."
        )
    return " ".join(parts)


def interval(r: Paired | None) -> str:
    """``+0.123 [+0.050, +0.200]``: median Δ over blocks and its 95% bootstrap interval."""
    if r is None:
        return MISSING
    return f"{signed(r.median_diff)} [{signed(r.ci_low)}, {signed(r.ci_high)}]"


def effect(t: Test) -> str:
    """A verdict test's median Δ and interval (:func:`interval`)."""
    return interval(t.result)


def table(group: Group) -> Table:
    """One row per detector: means, Δ, one-sided p and Holm p against each control (the
    controls' means are in Markdown only, to fit LaTeX's text width)."""
    header = [
        "detector",
        "AUROC",
        "untrained",
        "Δ untrained [95% CI]",
        "p Holm",
        "input norm",
        "Δ input norm [95% CI]",
        "p Holm ",
        "learned",
    ]
    names = [u.detector for u in group.untrained]
    out = Table(header, [], latex_drop={2, 5}, spec=name_spec(names) + "rrrrrrrl", wide=True)
    for u, n in zip(group.untrained, group.input_norm, strict=True):
        out.rows.append(
            [
                u.detector,
                number(n.mean_detector),
                number(u.mean_control) if u.result else MISSING,
                effect(u),
                _p(u),
                number(n.mean_control),
                effect(n),
                _p(n),
                _learned(u),
            ]
        )
    return out


def no_control(group: Group) -> str:
    """The detectors without an untrained control in ``group``, and why."""
    missing = [f"{t.detector} ({t.why})" for t in group.untrained if t.result is None]
    return "No untrained control: " + "; ".join(missing) + "." if missing else ""


def _p(t: Test) -> str:
    if t.result is None or t.result.method == "n/a":
        return MISSING
    return p_value(t.p_holm) + ("*" if t.significant else "")


def _learned(t: Test) -> str:
    if t.result is None:
        return "no control"
    return "yes" if t.significant else "no evidence"


def sentence(group: Group) -> str:
    """The verdict of a group in words, computed from its tests."""
    tested, learned = group.tested(), group.learned()
    where = f"{group.name} ({group.n_blocks} blocks)"
    if not tested:
        return f"{where}: no trained network has its untrained control here; no verdict."
    floor = smallest_p(min(t.result.n for t in tested)) * len(tested)
    if not learned:
        why = (
            f"; with {min(t.result.n for t in tested)} blocks and Holm over {len(tested)} "
            f"tests no result could reach α = {ALPHA}"
            if floor >= ALPHA
            else ""
        )
        return (
            f"**no evidence of learning on {where}**: none of {len(tested)} trained networks "
            f"beats its untrained control (one-sided Wilcoxon, Holm, α = {ALPHA}){why}."
        )
    best = max(learned, key=lambda t: (t.result.median_diff, t.detector))
    names = {t.detector for t in learned}
    norm = [t.detector for t in group.input_norm if t.significant and t.detector in names]
    return (
        f"**learning on {where}**: {len(learned)} of {len(tested)} trained networks beat "
        f"their untrained control ({', '.join(t.detector for t in learned)}); largest median "
        f"margin {best.detector} {effect(best)}, p Holm {p_value(best.p_holm)}. Of these, "
        f"{len(norm)} also beat the input norm ({', '.join(norm) or 'none'})."
    )


def delta(v: Versus) -> str:
    """``+0.012 [−0.003, +0.020]``: median Δ (FF − other) with its 95% bootstrap interval."""
    return interval(v.result)


def p_versus(v: Versus) -> str:
    """Holm's p of an FF-versus-other comparison, * when significant."""
    if v.result is None or v.result.method == "n/a":
        return MISSING
    return p_value(v.p_holm) + ("*" if is_significant(v.p_holm) else "")


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
                p_versus(h.twin),
                h.pyod.other or MISSING,
                number(h.pyod.mean_other),
                delta(h.pyod),
                p_versus(h.pyod),
                f"{_yes(h.detector in learned)} / {_yes(h.twin.other in learned)}",
            ]
        )
    return out


def _yes(flag: bool) -> str:
    return "yes" if flag else "no evidence"
