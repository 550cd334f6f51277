"""Ablation tables: AUROC grouped by a swept hyperparameter (``bench report --group-by hp.lr``).

One table per key: a row per (detector, value of the key), a column per dataset and the mean
over datasets. A cell is the mean ± std over seeds of the AUROC, normal classes averaged per
seed first (as every table of the report). Only FINISHED runs that have the key count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import schema
from reports.runs import FINISHED, metric, param, tag
from reports.tables import MISSING, Table


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


def table(runs: pd.DataFrame, key: str) -> tuple[Table, str]:
    """The ablation table for ``key`` and the column it read."""
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
    datasets = sorted(ok[data].unique())
    header = ["detector", key, *datasets, "mean"]
    rows: list[list[str]] = []
    bold: set[tuple[int, int]] = set()
    rules: set[int] = set()
    for detector in sorted(ok[det].unique()):
        values = _order(list(ok.loc[ok[det] == detector, "_value"].unique()))
        first = len(rows)
        if first:
            rules.add(first)
        means: dict[int, list[tuple[float, int]]] = {}
        for value in values:
            row = [detector, value]
            dataset_means = []
            for j, dataset in enumerate(datasets, start=2):
                if (detector, value, dataset) not in cells.index:
                    row.append(MISSING)
                    continue
                c = cells.loc[(detector, value, dataset)]
                dataset_means.append(c["mean"])
                std = "" if pd.isna(c["std"]) else f" ± {c['std']:.3f}"
                row.append(f"{c['mean']:.3f}{std}")
                means.setdefault(j, []).append((c["mean"], len(rows)))
            complete = len(dataset_means) == len(datasets)
            mean = sum(dataset_means) / len(dataset_means) if dataset_means else None
            row.append(MISSING if mean is None else f"{mean:.3f}" + ("" if complete else "*"))
            if mean is not None and complete:
                means.setdefault(len(datasets) + 2, []).append((mean, len(rows)))
            rows.append(row)
        if len(values) > 1:
            for j, entries in means.items():
                bold.add((max(entries)[1], j))
    return Table(header, rows, bold=bold, rules=rules), col


def section(doc: Any, runs: pd.DataFrame, group_by: list[str] | tuple[str, ...]) -> None:
    """A report section with one ablation table per key of ``group_by`` (nothing without)."""
    if not group_by:
        return
    doc.add("## Ablation", "")
    for key in group_by:
        t, col = table(runs, key)
        slug = "".join(ch if ch.isalnum() else "-" for ch in key).strip("-")
        doc.add(
            f"### AUROC by `{key}`",
            "",
            f"Column `{col}` of `results.csv`. A cell: mean ± std over seeds of the AUROC "
            "(normal classes averaged per seed); `mean`: over datasets (* when a dataset is "
            f"missing). Best value per detector in bold. {MISSING}: no finished run.",
            "",
        )
        doc.table(t, f"ablation-{slug}", f"AUROC by {key} (mean ± std over seeds).")
