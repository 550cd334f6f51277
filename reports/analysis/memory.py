"""The memory suites: peak training memory and time per step against depth, the analytic
per-layer model beside them, the frontier of memory against step time, and Adam's state.

Every number is a mean over seeds of per-seed means (``memory_sweep``); a ratio is a twin's
mean over its FF detector's mean at the same depth, width and batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core import schema
from reports.analysis.cost import pareto_front
from reports.analysis.frames import MEMORY_SUITE, MEMORY_SUITES, family_rank, simple, twin_map
from reports.analysis.runs import FINISHED

SGD, ADAM = MEMORY_SUITES
BYTES_PER_FLOAT = 4
SAVED_TENSORS_PER_LAYER = 1  # the input each Linear layer saves for its weight gradient
ADAM_STATE_TENSORS = 2  # exp_avg and exp_avg_sq, one float per parameter each
KEYS = ["width", "batch_size", "depth"]


def memory_runs(runs: pd.DataFrame, suite: str = MEMORY_SUITE) -> pd.DataFrame:
    """Finished runs of memory suite ``suite`` with depth, width and peak training memory."""
    s = simple(runs)
    s = s[(s["suite"] == suite) & (s["status"] == FINISHED)]
    s = s.dropna(subset=["depth", "width", "peak_train_mem_bytes"])
    return s.assign(batch_size=s["batch_size"].fillna(0))


def memory_sweep(
    runs: pd.DataFrame, name: str = "peak_train_mem_bytes", suite: str = MEMORY_SUITE
) -> pd.DataFrame:
    """Runs of memory suite ``suite``: per (detector, width, batch size, depth), ``name``
    averaged per seed first, then mean, sample std (ddof=1) and count over seeds.

    ``series`` names a curve: the detector, plus width and batch size when it has several.
    ``pair`` is the objective and arch the FF detector and its twin share.
    """
    s = memory_runs(runs, suite)
    if name != "peak_train_mem_bytes":
        s = s.dropna(subset=[name])
    keys = ["detector", "family", "objective", "arch", "meter", "width", "batch_size", "depth"]
    per_seed = s.groupby([*keys, "seed"], as_index=False)[name].mean()
    out = per_seed.groupby(keys, as_index=False)[name].agg(["mean", "std", "count"])
    out = out.rename(columns={"mean": name, "std": "std", "count": "n_seeds"})
    configs = out.groupby("detector")[["width", "batch_size"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    out["series"] = [
        d if configs[d] == 1 else f"{d} w{w:g} b{b:g}"
        for d, w, b in zip(out["detector"], out["width"], out["batch_size"], strict=True)
    ]
    return out


def slope(depth: pd.Series, value: pd.Series) -> float:
    """Least-squares growth of ``value`` per unit of depth."""
    if depth.nunique() < 2:
        return float("nan")
    return float(np.polyfit(depth.astype(float), value.astype(float), 1)[0])


def analytic_per_layer(family: str, width: float, batch: float, state_tensors: int = 0) -> float:
    """Analytic training memory added by one hidden layer (bytes).

    A model with named terms, set beside the measured slope so a reader sees how well it
    holds. BP: the layer's weight gradient (width x width x 4 B) plus the activation its
    Linear layer saves to compute that gradient (batch x width x 4 B x
    ``SAVED_TENSORS_PER_LAYER``); other saved tensors (activation masks, normalisation
    statistics) are freed as the backward pass goes and are not counted. FF: nothing, since
    a layer's graph and gradient are freed before the next layer trains. Both: the
    optimizer's ``state_tensors`` per weight (0 for plain SGD, 2 for Adam), kept for every
    layer by either rule. The parameters are allocated before the meter starts, for both.
    """
    state = state_tensors * width * width * BYTES_PER_FLOAT
    if family in ("bp", "bpl"):
        return state + (width * width + SAVED_TENSORS_PER_LAYER * batch * width) * BYTES_PER_FLOAT
    if family == "ff":
        return state
    return 0.0


def analytic_memory(sweep: pd.DataFrame, state_tensors: int = 0) -> pd.DataFrame:
    """One analytic line per analytic model and configuration (width, batch): families with
    the same per-layer term (bp and bpl) share one line. It starts from the mean measured
    peak of those families at the smallest depth d0 and adds (depth - d0) x
    ``analytic_per_layer`` (``state_tensors``: the optimizer's, per weight). ``families``
    lists the families a line stands for."""
    rows = []
    several = sweep[["width", "batch_size"]].drop_duplicates().shape[0] > 1
    for (width, batch), cfg in sweep.groupby(["width", "batch_size"]):
        terms: dict[float, list[str]] = {}
        for family in sorted(cfg["family"].unique(), key=family_rank):
            per_layer = analytic_per_layer(str(family), width, batch, state_tensors)
            terms.setdefault(per_layer, []).append(family)
        for per_layer, fams in terms.items():
            g = cfg[cfg["family"].isin(fams)]
            d0 = g["depth"].min()
            base = g.loc[g["depth"] == d0, "peak_train_mem_bytes"].mean()
            label = f"{', '.join(fams)} analytic" + (f" w{width:g} b{batch:g}" if several else "")
            for depth in sorted(g["depth"].unique()):
                rows.append(
                    {
                        "series": label,
                        "family": fams[0],
                        "families": ", ".join(fams),
                        "width": width,
                        "batch_size": batch,
                        "depth": depth,
                        "per_layer": per_layer,
                        "analytic_bytes": base + (depth - d0) * per_layer,
                    }
                )
    cols = [
        "series",
        "family",
        "families",
        "width",
        "batch_size",
        "depth",
        "per_layer",
        "analytic_bytes",
    ]
    return pd.DataFrame(rows, columns=cols)


def method(detector: str, ff: str) -> str:
    """The detector's name without the objective and architecture it shares with ``ff``."""
    return detector.replace("-" + ff.removeprefix("ff-"), "", 1)


def points(runs: pd.DataFrame, suite: str) -> pd.DataFrame:
    """Per FF detector (``ff``), configuration, depth and trained member of its pair: mean
    peak memory and step time, and both over FF's at the same width, batch and depth
    (``memory_ratio``, ``time_ratio``), and whether it is on the depth's Pareto front (the
    untrained control, family ``ref``, is the meter's floor, not a method)."""
    mem = memory_sweep(runs, suite=suite)
    if mem.empty:
        return pd.DataFrame()
    steps = memory_sweep(runs, "step_seconds", suite)
    data = mem[["detector", "family", *KEYS, "peak_train_mem_bytes"]]
    if steps.empty:
        data = data.assign(step_seconds=float("nan"))
    else:
        data = data.merge(
            steps[["detector", *KEYS, "step_seconds"]], on=["detector", *KEYS], how="left"
        )
    parts = []
    for ff, others in sorted(twin_map(runs).items()):
        base = data[(data["detector"] == ff) & (data["family"] == "ff")]
        if base.empty:
            continue
        members = data[data["detector"].isin(others) & (data["family"] != "ref")]
        part = pd.concat([base, members]).merge(
            base[[*KEYS, "peak_train_mem_bytes", "step_seconds"]], on=KEYS, suffixes=("", "_ff")
        )
        part["ff"] = ff
        part["method"] = [method(d, ff) for d in part["detector"]]
        part["memory_ratio"] = part["peak_train_mem_bytes"] / part["peak_train_mem_bytes_ff"]
        part["time_ratio"] = part["step_seconds"] / part["step_seconds_ff"]
        part["front"] = False
        for _, at in part.groupby(KEYS):
            part.loc[at.index, "front"] = pareto_front(
                at["peak_train_mem_bytes"], -at["step_seconds"]
            )
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def adam_states(runs: pd.DataFrame) -> list[dict[str, Any]] | None:
    """Per FF detector at the deepest depth of the Adam suite: its optimizer state (two
    float32 tensors per parameter, every layer's, all kept while later layers train) in
    bytes and as a share of its measured peak, and its peak under plain SGD (NaN when not
    measured). None when no FF run of the Adam suite logged its parameter count."""
    peak = memory_sweep(runs, suite=ADAM)
    n = memory_sweep(runs, schema.METRIC_N_PARAMS, ADAM)
    sgd = memory_sweep(runs, suite=SGD)
    ff = peak[peak["family"] == "ff"]
    if ff.empty or n.empty:
        return None
    keys = ["detector", "width", "batch_size", "depth"]
    out = []
    deepest = ff["depth"].max()
    for row in ff[ff["depth"] == deepest].itertuples(index=False):
        at = {k: getattr(row, k) for k in keys}
        count = _value(n, at, schema.METRIC_N_PARAMS)
        if pd.isna(count):
            continue
        state = ADAM_STATE_TENSORS * count * BYTES_PER_FLOAT
        out.append(
            {
                "detector": row.detector,
                "depth": deepest,
                "count": count,
                "state": state,
                "share": state / row.peak_train_mem_bytes,
                "peak": row.peak_train_mem_bytes,
                "plain": _value(sgd, at, "peak_train_mem_bytes"),
            }
        )
    return out


def _value(frame: pd.DataFrame, at: dict[str, Any], name: str) -> float:
    """``name``'s mean in ``frame`` at the row matching ``at``; NaN when none."""
    if frame.empty:
        return float("nan")
    mask = pd.Series(True, index=frame.index)
    for k, v in at.items():
        mask &= frame[k] == v
    hit = frame.loc[mask, name]
    return float(hit.iloc[0]) if len(hit) else float("nan")
