"""The numbers of the report, computed from the tidy run table (see ``reports.runs``).

Aggregation order, used everywhere: runs of the same trial (detector, dataset,
normal class, seed) are averaged first, then normal classes are averaged per
(detector, dataset, seed), then mean and sample standard deviation (ddof=1) are
taken over seeds. Only FINISHED runs outside the memory suite enter the main tables.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from bench import schema
from reports.runs import FINISHED, METRICS, metric, param, tag

MEMORY_SUITE = "memory"
TRIAL_KEYS = ["detector", "dataset", "normal_class", "seed"]
BYTES_PER_FLOAT = 4
SAVED_TENSORS_PER_LAYER = 2

_COLUMNS = {
    "detector": param(schema.PARAM_DETECTOR),
    "dataset": param(schema.PARAM_DATASET),
    "normal_class": param(schema.PARAM_NORMAL_CLASS),
    "seed": param(schema.PARAM_SEED),
    "family": tag(schema.TAG_FAMILY),
    "twin": tag(schema.TAG_TWIN),
    "objective": tag(schema.TAG_OBJECTIVE),
    "arch": tag(schema.TAG_ARCH),
    "suite": tag(schema.TAG_SUITE),
    "meter": tag(schema.TAG_MEMORY_METER),
    "auroc": metric(schema.METRIC_AUROC),
    "auprc": metric(schema.METRIC_AUPRC),
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
    return out


def main_trials(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run of the main suites (not the memory study), any status."""
    s = simple(runs)
    return s[s["suite"] != MEMORY_SUITE]


def finished(runs: pd.DataFrame) -> pd.DataFrame:
    """FINISHED main-suite runs with a trial key."""
    s = main_trials(runs)
    return s[(s["status"] == FINISHED) & (s["detector"] != "") & (s["dataset"] != "")]


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


@dataclass
class TwinComparison:
    """FF detector against its backprop twin over matching trials."""

    objective: str
    arch: str
    ff: str
    bp: str
    n: int
    ff_auroc: float
    bp_auroc: float
    diff: float  # mean of FF - BP
    wilcoxon_w: float
    wilcoxon_p: float
    mem_ratio: float  # mean BP peak train memory / mean FF
    fit_ratio: float  # mean BP fit seconds / mean FF
    meters: str


def _paired_wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if len(a) == 0:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = stats.wilcoxon(a, b)
        except ValueError:
            return float("nan"), float("nan")
    return float(res.statistic), float(res.pvalue)


def twins(runs: pd.DataFrame) -> list[TwinComparison]:
    """Every FF detector whose twin has runs, compared on matching trials."""
    f = finished(runs)
    keys = ["dataset", "normal_class", "seed"]
    names = ["auroc", "peak_train_mem_bytes", "fit_seconds"]
    per_trial = f.groupby(TRIAL_KEYS, as_index=False)[names].mean()
    ff_rows = f[(f["family"] == "ff") & (f["twin"] != "")]
    out = []
    for (ff, bp), info in ff_rows.groupby(["detector", "twin"]):
        a = per_trial[per_trial["detector"] == ff]
        b = per_trial[per_trial["detector"] == bp]
        if b.empty:
            continue
        pair = a.merge(b, on=keys, suffixes=("_ff", "_bp")).dropna(subset=["auroc_ff", "auroc_bp"])
        pair = pair.sort_values(keys)
        w, p = _paired_wilcoxon(pair["auroc_ff"].to_numpy(), pair["auroc_bp"].to_numpy())
        meters = f[f["detector"].isin([ff, bp]) & (f["meter"] != "")]["meter"].unique()
        out.append(
            TwinComparison(
                objective=info["objective"].iloc[0],
                arch=info["arch"].iloc[0],
                ff=ff,
                bp=bp,
                n=len(pair),
                ff_auroc=pair["auroc_ff"].mean(),
                bp_auroc=pair["auroc_bp"].mean(),
                diff=(pair["auroc_ff"] - pair["auroc_bp"]).mean(),
                wilcoxon_w=w,
                wilcoxon_p=p,
                mem_ratio=pair["peak_train_mem_bytes_bp"].mean()
                / pair["peak_train_mem_bytes_ff"].mean(),
                fit_ratio=pair["fit_seconds_bp"].mean() / pair["fit_seconds_ff"].mean(),
                meters=", ".join(sorted(meters)),
            )
        )
    return sorted(out, key=lambda t: (t.objective, t.arch, t.ff))


@dataclass
class Ranking:
    """Average ranks over datasets (rank 1 = highest mean AUROC) and Friedman/Nemenyi."""

    matrix: pd.DataFrame  # dataset x detector, complete
    ranks: pd.DataFrame  # same shape, per-dataset ranks
    dropped_detectors: list[str] = field(default_factory=list)
    dropped_datasets: list[str] = field(default_factory=list)
    statistic: float = float("nan")
    pvalue: float = float("nan")
    cd: float = float("nan")
    alpha: float = 0.05
    reason: str = ""

    @property
    def average(self) -> pd.Series:
        """Average rank per detector, best first."""
        return self.ranks.mean(axis=0).sort_values()


def complete_matrix(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Drop the detector or dataset with the largest share of missing cells until none is."""
    dropped_det: list[str] = []
    dropped_ds: list[str] = []
    m = matrix
    while m.size and m.isna().to_numpy().any():
        by_det = m.isna().mean(axis=0)
        by_ds = m.isna().mean(axis=1)
        if by_det.max() >= by_ds.max():
            name = str(by_det.idxmax())
            dropped_det.append(name)
            m = m.drop(columns=name)
        else:
            name = str(by_ds.idxmax())
            dropped_ds.append(name)
            m = m.drop(index=name)
    return m, dropped_det, dropped_ds


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference: q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def ranking(runs: pd.DataFrame, alpha: float = 0.05) -> Ranking:
    """Friedman test over datasets on mean AUROC; needs >= 3 detectors and >= 2 datasets."""
    c = cells(runs, "auroc")
    matrix = c["mean"].unstack("detector") if len(c) else pd.DataFrame()
    m, dd, ds = complete_matrix(matrix)
    ranks = m.apply(lambda row: pd.Series(stats.rankdata(-row.to_numpy()), index=row.index), axis=1)
    r = Ranking(matrix=m, ranks=ranks, dropped_detectors=dd, dropped_datasets=ds, alpha=alpha)
    k, n = m.shape[1], m.shape[0]
    if k < 3 or n < 2:
        r.reason = (
            f"the Friedman test needs at least 3 detectors and 2 datasets with complete "
            f"results; there are {k} detectors on {n} datasets"
        )
        return r
    res = stats.friedmanchisquare(*(m[d].to_numpy() for d in m.columns))
    r.statistic, r.pvalue = float(res.statistic), float(res.pvalue)
    r.cd = critical_difference(k, n, alpha)
    return r


def cliques(average: pd.Series, cd: float) -> list[list[str]]:
    """Maximal groups of detectors (sorted by rank) whose rank spread is below the CD."""
    names, values = list(average.index), average.to_numpy()
    groups: list[list[str]] = []
    last_end = -1
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and j > last_end:
            groups.append(names[i : j + 1])
            last_end = j
    return groups


def cost(runs: pd.DataFrame) -> pd.DataFrame:
    """Per detector: mean AUROC over datasets, mean peak train memory and fit time, Pareto flags."""
    c = cells(runs, "auroc")
    f = finished(runs)
    out = pd.DataFrame(
        {
            "auroc": c["mean"].groupby("detector").mean(),
            "peak_train_mem_bytes": f.groupby("detector")["peak_train_mem_bytes"].mean(),
            "fit_seconds": f.groupby("detector")["fit_seconds"].mean(),
            "meter": f[f["meter"] != ""]
            .groupby("detector")["meter"]
            .agg(lambda s: ", ".join(sorted(s.unique()))),
            "family": f.groupby("detector")["family"].first(),
        }
    )
    out["meter"] = out["meter"].fillna("")
    out["pareto_memory"] = pareto_front(out["peak_train_mem_bytes"], out["auroc"])
    out["pareto_time"] = pareto_front(out["fit_seconds"], out["auroc"])
    return out.dropna(subset=["auroc"])


def pareto_front(cost_values: pd.Series, score: pd.Series) -> pd.Series:
    """True where no other point has lower-or-equal cost and higher-or-equal score, one strictly."""
    ok = cost_values.notna() & score.notna()
    x, y = cost_values[ok], score[ok]
    flags = pd.Series(False, index=cost_values.index)
    for name in x.index:
        dominated = ((x <= x[name]) & (y >= y[name]) & ((x < x[name]) | (y > y[name]))).any()
        flags[name] = not dominated
    return flags


def memory_sweep(runs: pd.DataFrame) -> pd.DataFrame:
    """Memory-study runs: mean peak train memory per (detector, width, batch size, depth).

    ``series`` names a curve: the detector, plus width and batch size when it has several.
    """
    s = simple(runs)
    s = s[(s["suite"] == MEMORY_SUITE) & (s["status"] == FINISHED)]
    s = s.dropna(subset=["depth", "width", "peak_train_mem_bytes"])
    keys = ["detector", "family", "meter", "width", "batch_size", "depth"]
    s = s.assign(batch_size=s["batch_size"].fillna(0))
    out = s.groupby(keys, as_index=False)["peak_train_mem_bytes"].mean()
    configs = out.groupby("detector")[["width", "batch_size"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    out["series"] = [
        d if configs[d] == 1 else f"{d} w{w:g} b{b:g}"
        for d, w, b in zip(out["detector"], out["width"], out["batch_size"], strict=True)
    ]
    return out


def analytic_activation_memory(sweep: pd.DataFrame) -> pd.DataFrame:
    """For BP detectors: peak at the smallest depth + (depth - d0) x batch x width x 4 B x 2."""
    rows = []
    bp = sweep[sweep["family"] == "bp"]
    for (series, width, batch), g in bp.groupby(["series", "width", "batch_size"]):
        d0 = g["depth"].min()
        base = g.loc[g["depth"] == d0, "peak_train_mem_bytes"].iloc[0]
        per_layer = batch * width * BYTES_PER_FLOAT * SAVED_TENSORS_PER_LAYER
        for depth in sorted(g["depth"]):
            rows.append(
                {
                    "series": f"{series} (analytic)",
                    "width": width,
                    "batch_size": batch,
                    "depth": depth,
                    "analytic_bytes": base + (depth - d0) * per_layer,
                }
            )
    return pd.DataFrame(rows, columns=["series", "width", "batch_size", "depth", "analytic_bytes"])
