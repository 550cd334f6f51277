"""The trade-off study: peak training memory and AUROC together as the network grows.

Reads the runs of the ``tradeoff`` suites: every detector on a grid of depths x widths. A
cell is (detector, dataset, depth, width). Aggregation, as in the rest of the report: runs
of one trial are averaged, then normal classes per seed, then mean and sample std (ddof=1)
over seeds, for AUROC (the detector's declared rule, ``auroc``) and for peak training
memory alike. FF against each backprop twin is paired over blocks (dataset, normal class;
seeds averaged first, ``reports.analysis.paired``), one test per (objective, depth, width,
twin), Holm-corrected over all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.analysis import paired
from reports.analysis.frames import TRADEOFF_SUITES, column, newest_versions, simple
from reports.analysis.runs import FINISHED, param

SUITES = TRADEOFF_SUITES
# methods: detector names less "-<objective>-<arch>", in table order
FAMILIES = ("ff", "bp", "bp-ckpt", "bp-accum", "bpl", "untrained")
TRAINED = FAMILIES[:-1]  # drawn; the untrained control's memory is calibration only
TWINS = FAMILIES[1:-1]
ALPHA = 0.05
CELL = ["detector", "prefix", "objective", "arch", "dataset", "depth", "width"]
VALUES = ["auroc", "peak_train_mem_bytes"]


def trade_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished runs of the trade-off suites with AUROC and peak training memory, newest
    detector versions only; ``depth`` and ``width`` from the MLP metrics, or for a CNN from
    its ``hp.channels`` (conv blocks + the final linear layer; widest block)."""
    s = simple(runs)
    s = s[s["suite"].isin(SUITES) & (s["status"] == FINISHED) & (s["detector"] != "")]
    s = newest_versions(s)
    channels = column(runs, param("hp.channels")).reindex(s.index)
    for i in s.index[s["depth"].isna()]:
        c = channels.get(i)
        if isinstance(c, str) and c.startswith("["):
            c = json.loads(c)
            s.loc[i, ["depth", "width"]] = [len(c) + 1, max(c)]
    s = s.dropna(subset=["depth", "width", *VALUES]).copy()
    s["prefix"] = [
        d.replace(f"-{o}-{a}", "", 1)
        for d, o, a in zip(s["detector"], s["objective"], s["arch"], strict=True)
    ]
    return s


def per_seed(t: pd.DataFrame, name: str) -> pd.DataFrame:
    """One value per (cell, seed): runs of a trial averaged, then normal classes."""
    trial = t.groupby([*CELL, "normal_class", "seed"], as_index=False)[name].mean()
    return trial.groupby([*CELL, "seed"], as_index=False)[name].mean()


def cells(t: pd.DataFrame) -> pd.DataFrame:
    """Per cell: mean, std (ddof=1) and seeds of AUROC and of peak training memory."""
    parts = []
    for name in VALUES:
        agg = per_seed(t, name).groupby(CELL)[name].agg(["mean", "std", "count"])
        parts.append(agg.rename(columns=lambda c, n=name: f"{n}_{c}"))
    out = pd.concat(parts, axis=1).reset_index()
    return out.rename(columns={"auroc_count": "n_seeds"}).drop(columns="peak_train_mem_bytes_count")


def table_cells(t: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with each detector's family and each cell's largest parameter count."""
    c = cells(t)
    c = c.merge(
        t.groupby("detector")["family"].first().rename("family"),
        left_on="detector",
        right_index=True,
    )
    n_params = t.groupby(CELL)["n_params"].max() if "n_params" in t else None
    c["n_params"] = (
        [n_params.get(tuple(k), np.nan) for k in c[CELL].itertuples(index=False, name=None)]
        if n_params is not None
        else np.nan
    )
    return c


def block_values(t: pd.DataFrame, name: str) -> pd.DataFrame:
    """Blocks (dataset, normal class) x cells keyed (detector, depth, width): ``name``
    averaged over seeds (runs of one trial averaged first)."""
    trial = t.groupby([*CELL, "normal_class", "seed"], as_index=False)[name].mean()
    blocks = trial.groupby([*CELL, "normal_class"])[name].mean()
    out = blocks.reset_index().pivot_table(
        index=["dataset", "normal_class"], columns=["detector", "depth", "width"], values=name
    )
    return out.sort_index()


@dataclass(frozen=True)
class Comparison:
    """FF against one backprop twin at one (objective, arch, depth, width), over blocks."""

    objective: str
    arch: str
    depth: float
    width: float
    twin: str  # bp | bpl
    ff_memory: float  # mean over the blocks both have of the seed-averaged peak (bytes)
    twin_memory: float
    ff_auroc: float
    twin_auroc: float
    result: paired.Paired  # AUROC of FF minus the twin's, paired over blocks
    p_holm: float

    @property
    def memory_ratio(self) -> float:
        """Twin's memory / FF's: FF uses 1/ratio of the twin's memory."""
        return self.twin_memory / self.ff_memory if self.ff_memory > 0 else float("nan")

    @property
    def memory_saved(self) -> float:
        """Twin's memory minus FF's (bytes): a cost both pay alike (BLAS scratch) cancels."""
        return self.twin_memory - self.ff_memory

    @property
    def costs_accuracy(self) -> bool:
        return paired.is_significant(self.p_holm, ALPHA) and self.result.median_diff < 0

    @property
    def gains_accuracy(self) -> bool:
        return paired.is_significant(self.p_holm, ALPHA) and self.result.median_diff > 0


def compare(t: pd.DataFrame) -> list[Comparison]:
    """Every FF cell against each twin cell of the same network, Holm over all of them."""
    auroc, memory = block_values(t, "auroc"), block_values(t, "peak_train_mem_bytes")
    found = []
    nets = t[t["prefix"] == "ff"][["objective", "arch", "depth", "width"]].drop_duplicates()
    for objective, arch, depth, width in sorted(nets.itertuples(index=False, name=None)):
        ff = (f"ff-{objective}-{arch}", depth, width)
        for twin in TWINS:
            other = (f"{twin}-{objective}-{arch}", depth, width)
            if ff not in auroc or other not in auroc:
                continue
            both = pd.concat(
                [auroc[ff], auroc[other], memory[ff], memory[other]], axis=1, keys=range(4)
            ).dropna()
            if both.empty:
                continue
            result = paired.paired(both[0].to_numpy(), both[1].to_numpy())
            found.append(
                (
                    objective,
                    arch,
                    depth,
                    width,
                    twin,
                    both[2].mean(),
                    both[3].mean(),
                    both[0].mean(),
                    both[1].mean(),
                    result,
                )
            )
    adjusted = paired.holm([f[-1].p for f in found])
    return [Comparison(*f, p_holm=p) for f, p in zip(found, adjusted, strict=True)]


def by_network(comparisons: list[Comparison]) -> dict[tuple[str, str], list[Comparison]]:
    """The comparisons per (objective, arch), in their order."""
    out: dict[tuple[str, str], list[Comparison]] = {}
    for c in comparisons:
        out.setdefault((c.objective, c.arch), []).append(c)
    return out


def family_detectors(c: pd.DataFrame, objective: str, arch: str) -> list[str]:
    """The detectors of one network present in ``c``, in the order of ``FAMILIES``."""
    present = set(c["detector"])
    return [d for d in (f"{f}-{objective}-{arch}" for f in FAMILIES) if d in present]
