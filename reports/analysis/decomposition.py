"""FF versus backprop, one difference at a time: paired contrasts over blocks, Holm-corrected.

Every network logs AUROC under every scoring rule from one fit (``auroc.<rule>``), so each
contrast below changes exactly one thing and holds the rest equal:

(a) gradient flow: FF against the same-loss twin (``bp``), same rule;
(b) scoring rule: ``sum`` against ``last``, same network;
(c) loss placement: per-layer losses (``bp``) against the last-layer objective (``bpl``),
    both backprop, same rule;
(d) normalisation: the last-layer twin with and without length normalisation, same rule;
(e) learning: a trained network against the untrained control (same architecture and seed),
    same rule.

The unit is a block (dataset, normal class) with seeds averaged first
(``reports.analysis.paired.block_values``); Holm's correction runs over every test of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core import schema
from reports.analysis import paired
from reports.analysis.frames import finished, trial_values
from reports.analysis.runs import FINISHED, param, tag

ALPHA = 0.05


@dataclass(frozen=True)
class Contrast:
    """``a`` minus ``b``, each a (detector, scoring rule), differing only in ``effect``."""

    effect: str
    a: tuple[str, str]
    b: tuple[str, str]

    def label(self) -> str:
        return f"{self.a[0]} {self.a[1]} − {self.b[0]} {self.b[1]}"


@dataclass(frozen=True)
class Row:
    objective: str
    arch: str
    contrast: Contrast
    mean_a: float  # the report's mean AUROC: mean over datasets of the per-dataset means
    mean_b: float
    result: paired.Paired
    p_holm: float
    by_dataset: pd.Series  # median A - B per dataset: sign flips show

    @property
    def significant(self) -> bool:
        return paired.is_significant(self.p_holm, ALPHA)


# (effect, A as (family, rule), B as (family, rule)); family "bpl-nonorm" = bpl-<core>-nonorm
_CONTRASTS = (
    ("(a) gradient flow", ("ff", "sum"), ("bp", "sum")),
    ("(a) gradient flow", ("ff", "last"), ("bp", "last")),
    ("(b) scoring rule", ("ff", "sum"), ("ff", "last")),
    ("(b) scoring rule", ("bpl", "sum"), ("bpl", "last")),
    ("(c) loss placement", ("bp", "last"), ("bpl", "last")),
    ("(c) loss placement", ("bp", "sum"), ("bpl", "sum")),
    ("(d) normalisation", ("bpl", "last"), ("bpl-nonorm", "last")),
    ("(e) learning", ("ff", "sum"), ("untrained", "sum")),
    ("(e) learning", ("bpl", "last"), ("untrained", "last")),
)


def _detector(family: str, core: str) -> str:
    return f"bpl-{core}-nonorm" if family == "bpl-nonorm" else f"{family}-{core}"


def contrasts(objective: str, arch: str) -> list[Contrast]:
    """The contrasts of one (objective, arch), in the order (a) to (e)."""
    core = f"{objective}-{arch}"
    return [
        Contrast(effect, (_detector(a[0], core), a[1]), (_detector(b[0], core), b[1]))
        for effect, a, b in _CONTRASTS
    ]


def rule_blocks(runs: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """Blocks x ``"<detector>:<rule>"`` columns of ``<metric>.<rule>`` (seeds averaged)."""
    f = finished(runs)
    parts = []
    for col in sorted(c for c in f.columns if c.startswith(f"{metric}.")):
        rule = col[len(metric) + 1 :]
        blocks = paired.block_values(trial_values(runs, col), col)
        if not blocks.empty:
            parts.append(blocks.rename(columns=lambda d, r=rule: f"{d}:{r}"))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame()


def decompose(runs: pd.DataFrame, metric: str = "auroc") -> list[Row]:
    """Every contrast with both sides present in some block, Holm-corrected together."""
    blocks = rule_blocks(runs, metric)
    f = finished(runs)
    pairs = f[f["family"] == "ff"][["objective", "arch"]].drop_duplicates()
    found: list[tuple[str, str, Contrast, pd.DataFrame]] = []
    for objective, arch in sorted(pairs.itertuples(index=False, name=None)):
        for c in contrasts(objective, arch):
            a, b = f"{c.a[0]}:{c.a[1]}", f"{c.b[0]}:{c.b[1]}"
            if a in blocks and b in blocks and not blocks[[a, b]].dropna().empty:
                found.append(
                    (objective, arch, c, blocks[[a, b]].dropna().set_axis(["a", "b"], axis=1))
                )
    results = [paired.paired(both["a"].to_numpy(), both["b"].to_numpy()) for *_, both in found]
    adjusted = paired.holm([r.p for r in results])
    return [
        Row(
            objective,
            arch,
            c,
            _report_mean(both["a"]),
            _report_mean(both["b"]),
            result,
            p,
            paired.per_dataset_medians(both, "a", "b"),
        )
        for (objective, arch, c, both), result, p in zip(found, results, adjusted, strict=True)
    ]


def _report_mean(blocks: pd.Series) -> float:
    """Mean over datasets of the per-dataset mean over blocks (seeds already averaged)."""
    return float(blocks.groupby(level="dataset").mean().mean())


def below_chance(runs: pd.DataFrame, metric: str = "auroc") -> list[tuple[str, str, float]]:
    """(detector, dataset, mean) where a detector's (headline rule) mean over the dataset's
    blocks is below 0.5."""
    blocks = paired.block_values(trial_values(runs, metric), metric)
    if blocks.empty:
        return []
    means = blocks.groupby(level="dataset").mean()
    flagged = means.stack()
    flagged = flagged[flagged < 0.5]
    return [(det, ds, v) for (ds, det), v in flagged.items()]


def collapsed(runs: pd.DataFrame) -> list[str]:
    """Networks with finished runs whose goodness layers collapsed (tag ``bench.collapsed``):
    "<detector> on <dataset>: <n> of <m> runs (layers ...)"."""
    col = tag(schema.TAG_COLLAPSED)
    if col not in runs:
        return []
    f = runs[(runs["status"] == FINISHED) & runs[col].notna()]
    out = []
    for (det, ds), g in f.groupby([param(schema.PARAM_DETECTOR), param(schema.PARAM_DATASET)]):
        hit = g[col].astype(str).str.len() > 0
        if hit.any():
            layers = sorted({x for v in g.loc[hit, col] for x in str(v).split(",")})
            out.append(f"{det} on {ds}: {int(hit.sum())} of {len(g)} runs ({', '.join(layers)})")
    return out
