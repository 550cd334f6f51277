"""The run table as frames the report computes on, and its one aggregation order.

Aggregation order, used everywhere: runs of the same trial (detector, dataset,
normal class, seed) are averaged first, then normal classes are averaged per
(detector, dataset, seed), then mean and sample standard deviation (ddof=1) are
taken over seeds. Only FINISHED runs outside the study suites (and off the tuning sets) enter
the main tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import schema
from core.metrics import SCORE_METRICS
from reports.analysis.paired import block_values
from reports.analysis.runs import FINISHED, METRICS, SKIPPED, metric, param, tag

MEMORY_SUITE = "memory"
MEMORY_SUITES = (MEMORY_SUITE, "memory-adam")  # plain SGD, then Adam: the same sweep
TRADEOFF_SUITES = ("tradeoff", "tradeoff-images")
# the tuned networks' selection problems (datasets tune-*, bench.selection): never reported
TUNING_SUITE = "tuning"
TUNING_PREFIX = "tune-"
# left out of the accuracy tables and findings: the studies, which have their own sections (a
# grid of network sizes per detector, not one detector), and the tuning sets
STUDY_SUITES = (*MEMORY_SUITES, *TRADEOFF_SUITES, TUNING_SUITE)
TRIAL_KEYS = ["detector", "dataset", "normal_class", "seed"]
MISSING = "—"  # no value: the mark every table and sentence prints

_COLUMNS = {
    "detector": param(schema.PARAM_DETECTOR),
    "dataset": param(schema.PARAM_DATASET),
    "normal_class": param(schema.PARAM_NORMAL_CLASS),
    "seed": param(schema.PARAM_SEED),
    "family": tag(schema.TAG_FAMILY),
    "twin": tag(schema.TAG_TWIN),
    "objective": tag(schema.TAG_OBJECTIVE),
    "arch": tag(schema.TAG_ARCH),
    "detector_version": tag(schema.TAG_DETECTOR_VERSION),
    "suite": tag(schema.TAG_SUITE),
    "meter": tag(schema.TAG_MEMORY_METER),
    "meter_version": tag(schema.TAG_METER_VERSION),
    **{m.name: metric(m.name) for m in SCORE_METRICS},
    "fit_seconds": metric(schema.METRIC_FIT_SECONDS),
    "peak_train_mem_bytes": metric(schema.METRIC_PEAK_TRAIN_MEM),
    "depth": metric(schema.METRIC_DEPTH),
    "width": metric(schema.METRIC_WIDTH),
    "batch_size": param(schema.HPARAM_PREFIX + "batch_size"),
}
_TEXT = [
    "detector",
    "dataset",
    "normal_class",
    "seed",
    "family",
    "twin",
    "objective",
    "arch",
    "detector_version",
    "suite",
    "meter",
]


def column(runs: pd.DataFrame, name: str) -> pd.Series:
    """A column of ``runs``, or all-NaN when no run logged it."""
    return runs[name] if name in runs else pd.Series(np.nan, index=runs.index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Keys as strings; a seed read back from CSV as 0 or 0.0 must equal the logged "0"."""

    def one(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return "" if pd.isna(v) else str(v)

    return series.map(one)


def simple(runs: pd.DataFrame) -> pd.DataFrame:
    """The columns the statistics need, with short names and string keys."""
    out = pd.DataFrame({k: column(runs, c) for k, c in _COLUMNS.items()}, index=runs.index)
    # every other metric under its own key (e.g. per-rule scores "auroc.last", "auroc.layer1")
    known = set(_COLUMNS.values())
    extra = {
        c[len(METRICS) :]: pd.to_numeric(runs[c], errors="coerce")
        for c in runs.columns
        if c.startswith(METRICS) and c not in known and c[len(METRICS) :] not in out
    }
    if extra:
        out = pd.concat([out, pd.DataFrame(extra, index=runs.index)], axis=1)
    for k in _TEXT:
        out[k] = _text(out[k])
    for k in _COLUMNS.keys() - set(_TEXT):
        out[k] = pd.to_numeric(out[k], errors="coerce")
    out["status"] = column(runs, "status")
    return _newest_memory(out)


def _newest_memory(s: pd.DataFrame) -> pd.DataFrame:
    """Memory figures of an older meter version (runs without the tag count as 1) left out
    (NaN) when newer ones are present: what they measured is not what the newer ones do."""
    version = pd.to_numeric(s.pop("meter_version"), errors="coerce").fillna(1)
    s.loc[version < version.max(), "peak_train_mem_bytes"] = np.nan
    return s


def main_trials(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run of the main suites (not the memory or trade-off studies, nor a tuning set in
    any suite), any status."""
    s = simple(runs)
    return s[~s["suite"].isin(STUDY_SUITES) & ~s["dataset"].str.startswith(TUNING_PREFIX)]


def finished(runs: pd.DataFrame) -> pd.DataFrame:
    """FINISHED main-suite runs with a trial key, of each detector's newest version only."""
    s = newest_versions(main_trials(runs))
    return s[(s["status"] == FINISHED) & (s["detector"] != "") & (s["dataset"] != "")]


def newest_versions(s: pd.DataFrame) -> pd.DataFrame:
    """Rows of each detector's newest ``detector_version`` (runs without the tag count as 1).

    A detector whose meaning changed got a new version; its older runs must not be averaged
    with the new ones.
    """
    version = pd.to_numeric(s["detector_version"].replace("", "1"), errors="coerce").fillna(1)
    return s[version == version.groupby(s["detector"]).transform("max")]


def trial_values(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """One value per trial: mean over repeated runs of the same trial."""
    f = finished(runs).dropna(subset=[name])
    return f.groupby(TRIAL_KEYS, as_index=False)[name].mean()


def seed_values(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """One value per (detector, dataset, seed): mean over normal classes."""
    t = trial_values(runs, name)
    return t.groupby(["detector", "dataset", "seed"], as_index=False)[name].mean()


def _expected_trials(runs: pd.DataFrame) -> pd.Series:
    """Number of distinct (normal class, seed) pairs any run attempted, per dataset."""
    m = main_trials(runs)
    m = m[m["normal_class"] != ""]
    return m.groupby("dataset")[["normal_class", "seed"]].apply(lambda g: len(g.drop_duplicates()))


def cells(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per (dataset, detector): mean and std over seeds, seed and trial counts, completeness."""
    sv = seed_values(runs, name)
    out = sv.groupby(["dataset", "detector"])[name].agg(["mean", "std", "count"])
    out = out.rename(columns={"count": "n_seeds"})
    n_trials = trial_values(runs, name).groupby(["dataset", "detector"]).size()
    out["n_trials"] = n_trials
    expected = _expected_trials(runs)
    out["complete"] = [out.loc[(d, m), "n_trials"] >= expected.get(d, 0) for d, m in out.index]
    return out


def class_cells(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per (dataset, normal class, detector): mean and std over seeds."""
    t = trial_values(runs, name)
    return t.groupby(["dataset", "normal_class", "detector"])[name].agg(["mean", "std"])


FAMILY_ORDER = ["ff", "bp", "bpl", "ref", "pyod"]


def family_rank(family: str) -> int:
    """Sort key of a family: the order above, then others."""
    return FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)


def families(runs: pd.DataFrame) -> pd.Series:
    """Family of every detector that has a run."""
    s = simple(runs)
    s = s[s["detector"] != ""]
    return s.groupby("detector")["family"].first()


def detector_order(runs: pd.DataFrame, suites: str = "main") -> list[str]:
    """Detectors that ran (finished or failed; skipped-only ones are listed elsewhere),
    ordered by family (ff, bp, bpl, ref, pyod, others) then name. ``suites``: "main" for the
    accuracy suites, "all" to include the memory study."""
    f = main_trials(runs) if suites == "main" else simple(runs)
    f = f[(f["detector"] != "") & (f["status"] != SKIPPED)]
    fam = f.groupby("detector")["family"].first()
    return sorted(fam.index, key=lambda d: (family_rank(fam[d]), d))


def suites(runs: pd.DataFrame) -> dict[str, list[str]]:
    """Main suites (sorted) and their datasets (sorted), from every main-suite run."""
    m = main_trials(runs)
    m = m[m["dataset"] != ""]
    if (m["suite"] != "").any():  # rows without a suite (skipped trials) join no suite
        m = m[m["suite"] != ""]
    out: dict[str, list[str]] = {}
    for suite, g in m.groupby("suite"):
        out[str(suite) or "all"] = sorted(g["dataset"].unique())
    return out


def mean_over_datasets(c: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """THE mean AUROC (or AUPRC) of a detector: the mean over ``datasets`` of its per-dataset
    means (``cells``: normal classes averaged per seed, then seeds). ``complete`` is False
    when a dataset has no value or an incomplete one."""
    rows = {}
    sub = c[c.index.get_level_values("dataset").isin(datasets)]
    for det, g in sub.groupby(level="detector"):
        rows[det] = {
            "mean": float(g["mean"].mean()),
            "n_datasets": len(g),
            "complete": len(g) == len(datasets) and bool(g["complete"].all()),
        }
    return pd.DataFrame(rows, index=["mean", "n_datasets", "complete"]).T


def blocks(runs: pd.DataFrame, name: str = "auroc") -> pd.DataFrame:
    """(dataset, normal class) x detector, seeds averaged: the unit of every test."""
    return block_values(trial_values(runs, name), name)


def chance_share(runs: pd.DataFrame) -> pd.Series:
    """Per dataset: the test anomaly share (a random scorer's AUPRC), averaged like a cell
    (per trial, then normal classes, then seeds; every detector sees the same splits)."""
    if not finished(runs).get("anomaly_ratio", pd.Series(dtype=float)).notna().any():
        return pd.Series(dtype=float)
    t = trial_values(runs, "anomaly_ratio")
    per_seed = t.groupby(["dataset", "seed"])["anomaly_ratio"].mean()
    return per_seed.groupby("dataset").mean()


def twin_map(runs: pd.DataFrame) -> dict[str, list[str]]:
    """FF detector -> the detectors that name it as twin, or that it names."""
    s = simple(runs)
    s = s[(s["detector"] != "") & (s["twin"] != "")]
    out: dict[str, set[str]] = {}
    for det, twin, family in (
        s[["detector", "twin", "family"]].drop_duplicates().itertuples(index=False)
    ):
        if family == "ff":
            out.setdefault(det, set()).add(twin)
        else:
            out.setdefault(twin, set()).add(det)
    return {k: sorted(v) for k, v in out.items()}
