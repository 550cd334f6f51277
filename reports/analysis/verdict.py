"""The learning verdict: did a trained network beat its own untrained control, and the input norm?

Per group of blocks (a suite's datasets of one data protocol, e.g. embedded one-vs-rest or
embedded leave-one-class-out) and per trained network detector, two controls:

- **untrained**: ``untrained-<objective>-<arch>``, the same network, seed and scoring rule with
  zero training steps (for a detector with a name suffix, e.g. ``ff-goodness-mlp-tuned``, the
  control with the same suffix first). It is a control only where the two networks are the
  same: every hyperparameter the control logged (``hp.*`` but the scoring rule) has the
  detector's value.
  Otherwise (``bpl-*-nonorm``: no length normalisation; ``dsvdd-*``: another network) there is
  no untrained control, and the report says why.
- **input norm**: ``ref-input-norm``, the squared norm of the preprocessed input.

Unit: blocks (dataset, normal class) with seeds averaged first (``reports.analysis.paired``).
Test: one-sided Wilcoxon signed-rank, trained > control, Holm-corrected across the detectors of
one group and control. Effect: median Δ over blocks with a 95% bootstrap interval. A detector
*learned* in a group when it beats its untrained control there after Holm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import schema
from reports.analysis import paired
from reports.analysis.decomposition import rule_blocks
from reports.analysis.frames import MISSING, blocks, finished, suites
from reports.analysis.runs import FINISHED, param, tag

ALPHA = 0.05
TRAINED_FAMILIES = ("ff", "bp", "bpl", "dsvdd")
INPUT_NORM = "ref-input-norm"
UNTRAINED = "untrained"
_RULE = schema.HPARAM_PREFIX + "score_layers"
_NO_RUN = "no run of"


@dataclass(frozen=True)
class Test:
    """One detector against one control over a group's blocks."""

    detector: str
    control: str  # the control detector's name, or "" when it has none
    rule: str  # the scoring rule both sides are read with ("" for the input norm)
    mean_detector: float  # the report's mean AUROC over the blocks both have
    mean_control: float
    result: paired.Paired | None  # None: no control (see ``why``)
    p_holm: float
    why: str = ""  # why there is no control

    @property
    def significant(self) -> bool:
        return self.result is not None and paired.is_significant(self.p_holm, ALPHA)


@dataclass(frozen=True)
class Group:
    """A suite's datasets of one protocol and the verdict tests on their blocks."""

    suite: str
    protocol: str
    datasets: list[str]
    n_blocks: int
    untrained: list[Test]
    input_norm: list[Test]

    @property
    def name(self) -> str:
        return f"{self.suite}, {self.protocol}"

    def learned(self) -> list[Test]:
        return [t for t in self.untrained if t.significant]

    def tested(self) -> list[Test]:
        return [t for t in self.untrained if t.result is not None]


def groups(runs: pd.DataFrame, metric: str = "auroc") -> list[Group]:
    """The verdict of every (main suite, data protocol) with a trained network."""
    f = finished(runs)
    if f.empty:
        return []
    protocol = _protocols(runs)
    nets = f[f["family"].isin(TRAINED_FAMILIES)]
    rules = _rules(runs)
    headline = blocks(runs, metric)
    by_rule = rule_blocks(runs, metric)
    out = []
    for suite, datasets in suites(runs).items():
        by_protocol: dict[str, list[str]] = {}
        for d in datasets:
            by_protocol.setdefault(protocol.get(d, MISSING), []).append(d)
        for proto, members in sorted(by_protocol.items()):
            dets = sorted(nets.loc[nets["dataset"].isin(members), "detector"].unique())
            if not dets:
                continue
            within, extra = _within(headline, members), _within(by_rule, members)
            untrained = [_untrained(runs, f, d, rules.get(d, ""), within, extra) for d in dets]
            norm = [
                _against(d, INPUT_NORM, "", _column(within, d), _column(within, INPUT_NORM))
                for d in dets
            ]
            out.append(Group(suite, proto, members, len(within), _holm(untrained), _holm(norm)))
    return out


def _within(blocks: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """The blocks of ``datasets`` (an empty frame stays empty)."""
    if blocks.empty:
        return blocks
    return blocks[blocks.index.get_level_values("dataset").isin(datasets)]


def _protocols(runs: pd.DataFrame) -> dict[str, str]:
    """Dataset -> the data protocol its runs logged (the newest value when several)."""
    return _last(runs, param(schema.PARAM_DATASET), tag(schema.TAG_DATA_PROTOCOL))


def _rules(runs: pd.DataFrame) -> dict[str, str]:
    """Detector -> the scoring rule of its headline AUROC (``hp.score_layers``)."""
    return _last(runs, param(schema.PARAM_DETECTOR), param(_RULE))


def _last(runs: pd.DataFrame, key: str, value: str) -> dict[str, str]:
    """``key`` -> the last ``value`` logged with it (``{}`` when either column is absent)."""
    if key not in runs or value not in runs:
        return {}
    pairs = runs[[key, value]].dropna()
    return {str(k): str(g[value].iloc[-1]) for k, g in pairs.groupby(key)}


def _column(blocks: pd.DataFrame, name: str) -> pd.Series:
    return blocks[name] if name in blocks else pd.Series(np.nan, index=blocks.index)


def _untrained(
    runs: pd.DataFrame,
    f: pd.DataFrame,
    det: str,
    rule: str,
    blocks: pd.DataFrame,
    by_rule: pd.DataFrame,
) -> Test:
    """``det``'s headline AUROC against its untrained control read with the same rule
    (``f``: the finished main-suite trials)."""
    row = f[f["detector"] == det].iloc[0]
    control, why = _control(runs, det, f"{row['objective']}-{row['arch']}")
    ctrl = f"{control}:{rule}"
    if not why and ctrl not in by_rule:
        why = f"no finished run of {control} logged auroc.{rule}"
    if why:
        return Test(det, "", rule, np.nan, np.nan, None, np.nan, why)
    return _against(det, control, rule, _column(blocks, det), by_rule[ctrl])


def _control(runs: pd.DataFrame, det: str, core: str) -> tuple[str, str]:
    """``det``'s untrained control and why it is none (""): ``untrained-<core><suffix>`` with
    ``det``'s name suffix (``-tuned``) where that control ran, else ``untrained-<core>``."""
    base = f"{UNTRAINED}-{core}"
    suffix = det.partition(f"-{core}")[2]
    if suffix:
        why = _differs(runs, det, base + suffix)
        if not why.startswith(_NO_RUN):
            return base + suffix, why
    return base, _differs(runs, det, base)


def _differs(runs: pd.DataFrame, det: str, control: str) -> str:
    """Why ``control`` is not ``det`` untrained: the first hyperparameter they differ in."""
    dcol = param(schema.PARAM_DETECTOR)
    done = runs[runs["status"] == FINISHED]
    mine, theirs = done[done[dcol] == det], done[done[dcol] == control]
    if theirs.empty:
        return f"{_NO_RUN} {control}"
    prefix = param(schema.HPARAM_PREFIX)
    for col in sorted(c for c in runs.columns if c.startswith(prefix) and c != param(_RULE)):
        want = set(theirs[col].dropna().astype(str))
        if not want:
            continue
        have = set(mine[col].dropna().astype(str)) if col in mine else set()
        if have != want:
            key = col[len(param("")) :]
            return f"differs from {control} in {key} ({', '.join(sorted(have)) or MISSING})"
    return ""


def _against(det: str, control: str, rule: str, a: pd.Series, b: pd.Series) -> Test:
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    if both.empty:
        return Test(det, "", rule, np.nan, np.nan, None, np.nan, f"no block with {control}")
    result = paired.paired(both["a"].to_numpy(), both["b"].to_numpy(), alternative="greater")
    return Test(det, control, rule, _mean(both["a"]), _mean(both["b"]), result, np.nan)


def _mean(values: pd.Series) -> float:
    """The report's mean: over datasets of the per-dataset mean over blocks."""
    return float(values.groupby(level="dataset").mean().mean())


def _holm(tests: list[Test]) -> list[Test]:
    """The tests with Holm-adjusted p over those that have a control."""
    adjusted = paired.holm([t.result.p if t.result else np.nan for t in tests])
    return [
        Test(t.detector, t.control, t.rule, t.mean_detector, t.mean_control, t.result, p, t.why)
        for t, p in zip(tests, adjusted, strict=True)
    ]
