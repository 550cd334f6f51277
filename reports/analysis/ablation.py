"""AUROC grouped by a swept hyperparameter (``bench report --group-by hp.lr``): per
(detector, value of the key, dataset) the mean ± std over seeds of the AUROC, normal classes
averaged per seed first (as every table of the report). Only FINISHED runs that have the key
count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import schema
from reports.analysis.runs import FINISHED, metric, param, tag


class UnknownGroupKey(ValueError):
    """``--group-by`` names a key that no run has."""


def column(runs: pd.DataFrame, key: str) -> str:
    """The results.csv column a ``--group-by`` key names: the column itself, a param
    (``hp.lr`` is ``params.hp.lr``), a hyperparameter (``lr``), a metric or a tag."""
    for candidate in (key, param(key), param(schema.HPARAM_PREFIX + key), tag(key), metric(key)):
        if candidate in runs.columns and runs[candidate].notna().any():
            return candidate
    swept = swept_keys(runs)
    hint = f"; swept here: {', '.join(swept)}" if swept else "; no hyperparameter varies here"
    raise UnknownGroupKey(f"--group-by {key}: no run has it{hint}")


def swept_keys(runs: pd.DataFrame) -> list[str]:
    """Hyperparameters (``hp.<name>``) with more than one value within one detector."""
    det = param(schema.PARAM_DETECTOR)
    out = []
    prefix = param(schema.HPARAM_PREFIX)
    for col in sorted(c for c in runs.columns if c.startswith(prefix)):
        if det in runs and (runs.groupby(det)[col].nunique() > 1).any():
            out.append(col.removeprefix("params."))
    return out


def _order(values: list[Any]) -> list[Any]:
    """Numbers in numeric order, anything else as text."""
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


@dataclass(frozen=True)
class Grouped:
    """AUROC by the values of one key: ``cells`` indexed (detector, value, dataset) with
    mean, std and count over seeds; each detector's values in order."""

    column: str
    cells: pd.DataFrame
    datasets: list[str]
    values: dict[str, list[Any]]


def grouped(runs: pd.DataFrame, key: str) -> Grouped:
    """AUROC by ``key``; raises ``UnknownGroupKey`` when no finished run with an AUROC has it."""
    col = column(runs, key)
    det, data = param(schema.PARAM_DETECTOR), param(schema.PARAM_DATASET)
    seed, auroc = param(schema.PARAM_SEED), metric(schema.METRIC_AUROC)
    ok = runs[(runs["status"] == FINISHED) & runs[col].notna()]
    ok = ok[ok[auroc].notna()] if auroc in ok else ok.iloc[0:0]
    if ok.empty:
        raise UnknownGroupKey(f"--group-by {key}: no FINISHED run with an AUROC has it")
    ok = ok.assign(_value=ok[col].astype(str))
    per_seed = ok.groupby([det, "_value", data, seed])[auroc].mean()  # classes averaged
    cells = per_seed.groupby(level=[0, 1, 2]).agg(["mean", "std", "count"])
    values = {
        d: _order(list(ok.loc[ok[det] == d, "_value"].unique())) for d in sorted(ok[det].unique())
    }
    return Grouped(col, cells, sorted(ok[data].unique()), values)
