"""The best of each family per group (``reports.analysis.best``): best FF, best BP, best PyOD
and KNN with the gap FF − other; and every tuned network beside its untrained control under
the same rule (the verdict's test of it)."""

from __future__ import annotations

from reports.analysis.best import ROLES, Best, best_of, group_blocks, group_means
from reports.analysis.context import Context
from reports.analysis.frames import MISSING
from reports.analysis.tuned import selections
from reports.analysis.verdict import Test
from reports.render.document import Document, slug
from reports.render.formats import number, p_value
from reports.render.table import Table, name_spec
from reports.sections.verdict import effect, interval

TITLE = "Best of each family"


def write(doc: Document, ctx: Context) -> None:
    if ctx.main.empty:
        return
    found = [(g, best_of(ctx.runs, g)) for g in ctx.groups]
    found = [(g, rows) for g, rows in found if rows]
    if not found:
        return
    tuned = set(selections(ctx.runs))
    roles = ", ".join(role for role, _ in ROLES)
    doc.add(
        f"## {TITLE}",
        "",
        f"Per group (a suite's datasets of one data protocol): {roles}, each chosen once by "
        "mean AUROC (the report's mean: over datasets of per-dataset means) among the "
        "detectors with a value on every dataset of the group (BP: the same-loss twins' "
        "family `bp`). "
        "`FF − other`: median over blocks (dataset, normal class; seeds averaged first) of the "
        "best FF detector's AUROC minus the other's, with a 95% bootstrap interval; p: "
        "two-sided Wilcoxon signed-rank, not corrected (a description of the gap, not a "
        "finding). Then every tuned network (`*-tuned`, chosen without labels: next section) "
        "beside its untrained control read with the same rule, as the learning verdict tests "
        "it (one-sided Wilcoxon, Holm over the group's networks).",
        "",
    )
    for g, rows in found:
        doc.add(f"### {TITLE}: {g.name}", "")
        doc.table(table(rows), "best_" + slug(g.name), f"Best of each family, {g.name}.")
        controls = [t for t in g.untrained if t.detector in tuned]
        if controls:
            doc.table(
                tuned_table(controls, group_means(group_blocks(ctx.runs, g))),
                "best_tuned_" + slug(g.name),
                f"Tuned networks against their untrained control, {g.name}.",
            )


def table(rows: list[Best]) -> Table:
    header = ["", "detector", "AUROC", "FF − other [95% CI]", "p", "n", "FF wins / losses"]
    out = Table(header, [], spec="l" + name_spec([r.detector for r in rows]) + "rrrrr")
    for r in rows:
        gap = r.gap
        out.rows.append(
            [
                r.role,
                r.detector or MISSING,
                number(r.mean),
                interval(gap),
                p_value(gap.p) if gap is not None else MISSING,
                str(gap.n) if gap is not None else MISSING,
                f"{gap.wins} / {gap.losses}" if gap is not None else MISSING,
            ]
        )
    return out


def tuned_table(tests: list[Test], means: dict[str, float]) -> Table:
    """Per tuned network: its mean AUROC (``means``), its control's and the verdict's Δ."""
    header = ["tuned network", "rule", "AUROC", "untrained control", "AUROC ", "Δ [95% CI]"]
    header.append("p Holm")
    names = [t.detector for t in tests]
    out = Table(header, [], spec=name_spec(names) + "lr" + name_spec(names) + "rrr", wide=True)
    for t in tests:
        out.rows.append(
            [
                t.detector,
                t.rule,
                number(t.mean_detector if t.result else means.get(t.detector, float("nan"))),
                t.control or f"none ({t.why})",
                number(t.mean_control),
                effect(t),
                p_value(t.p_holm) + ("*" if t.significant else "") if t.result else MISSING,
            ]
        )
    return out
