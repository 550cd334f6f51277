"""FF versus backprop, one difference at a time: the contrasts of
``reports.analysis.decomposition``, paired over blocks and Holm-corrected, in a table and in
words; collapsed goodness layers and below-chance detectors beside them."""

from __future__ import annotations

from core import schema
from reports.analysis.context import Context
from reports.analysis.decomposition import ALPHA, Row, below_chance, collapsed, decompose
from reports.analysis.frames import MISSING
from reports.render.document import Document
from reports.render.formats import number, p_value
from reports.render.table import Table
from reports.sections.verdict import controls_line


def write(doc: Document, ctx: Context) -> None:
    if ctx.memory_only:
        return
    doc.add("## Forward-Forward versus backprop, one difference at a time", "")
    doc.add(controls_line(ctx.groups), "")
    runs = ctx.runs
    rows = decompose(runs)
    if not rows:
        doc.add(
            "No contrast can be formed: it needs finished runs of an FF detector and of its "
            "twins (`bp-*`, `bpl-*`, `bpl-*-nonorm`) or its untrained control on the same "
            "blocks.",
            "",
        )
        return
    doc.add(
        "Each row changes one thing and holds the rest equal (column `effect`; A − B names "
        "the detector and scoring rule of each side; every rule is scored from the same fit). "
        "(a) gradient flow: FF against the same-loss backprop twin; (b) scoring rule: `sum` "
        "against `last`; (c) loss placement: per-layer losses against the last-layer "
        "objective, both backprop; (d) length normalisation between layers on against off; "
        "(e) learning: trained against the untrained network of the same seed. Unit: blocks "
        "(dataset, normal class), seeds averaged first; A and B are mean AUROC (the report's "
        "one definition: mean over datasets of per-dataset means) over the blocks both have; "
        "Δ is A − B per block with a 95% bootstrap interval of its median; `datasets +/−` "
        "counts datasets whose median Δ is positive / negative (a sign flip shows); p is the "
        "two-sided Wilcoxon signed-rank test (exact or normal approximation, as marked), "
        f"Holm-corrected over the {len(rows)} tests of the table; * marks p Holm < "
        f"{ALPHA}.",
        "",
    )
    doc.table(
        table(rows),
        "decomposition",
        "FF versus backprop, one difference at a time (paired over blocks, Holm-corrected).",
    )
    doc.add("In words:", "", *summary(rows), "")
    layers = collapsed(runs)
    if layers:
        doc.add(
            "Collapsed goodness layers (last-epoch mean goodness below "
            "`ff.detector.COLLAPSE_GOODNESS`: the zero map, which minimises goodness on normals "
            f"only; tag `{schema.TAG_COLLAPSED}`): " + "; ".join(layers) + ".",
            "",
        )
    flagged = [f"{det} on {ds}: {number(v)}" for det, ds, v in below_chance(runs)]
    if flagged:
        doc.add(
            "Below chance (headline AUROC < 0.5, mean over a dataset's blocks): "
            + "; ".join(flagged)
            + ".",
            "",
        )


def table(rows: list[Row]) -> Table:
    """One row per contrast, grouped by (objective, arch)."""
    header = [
        "network",
        "effect",
        "A − B",
        "n",
        "A",
        "B",
        "Δ median [95% CI]",
        "datasets +/−",
        "p",
        "p Holm",
    ]
    out = Table(header, [], latex_drop={2}, wide=True)
    last = None
    for r in rows:
        if (r.objective, r.arch) != last:
            out.rules.add(len(out.rows))
            last = r.objective, r.arch
        res = r.result
        ci = f"{number(res.median_diff)} [{number(res.ci_low)}, {number(res.ci_high)}]"
        mark = "*" if r.significant else ""
        out.rows.append(
            [
                f"{r.objective}-{r.arch}",
                r.contrast.effect,
                r.contrast.label(),
                str(res.n),
                number(r.mean_a),
                number(r.mean_b),
                ci,
                f"{int((r.by_dataset > 0).sum())}/{int((r.by_dataset < 0).sum())}",
                f"{p_value(res.p)} ({res.method})" if res.method != "n/a" else MISSING,
                p_value(r.p_holm) + mark,
            ]
        )
    return out


def summary(rows: list[Row]) -> list[str]:
    """Sentences saying, per effect, which contrasts are significant after Holm."""
    lines = []
    for effect in dict.fromkeys(r.contrast.effect for r in rows):
        mine = [r for r in rows if r.contrast.effect == effect]
        sig = [r for r in mine if r.significant]
        if not sig:
            lines.append(
                f"- {effect}: no contrast differs after Holm's correction "
                f"({len(mine)} tested, α = {ALPHA})."
            )
            continue
        parts = [
            f"{r.contrast.label()} on {r.objective}-{r.arch} "
            f"({'+' if r.result.median_diff > 0 else ''}{number(r.result.median_diff)}, "
            f"p Holm {p_value(r.p_holm)})"
            for r in sig
        ]
        lines.append(f"- {effect}: {len(sig)} of {len(mine)} differ: " + "; ".join(parts) + ".")
    return lines
