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

from core import schema
from core.metrics import SCORE_METRICS
from reports.runs import FINISHED, METRICS, metric, param, tag

MEMORY_SUITE = "memory"
MEMORY_SUITES = (MEMORY_SUITE, "memory-adam")  # plain SGD, then Adam: the same sweep
TRADEOFF_SUITES = ("tradeoff", "tradeoff-images")
# studies with their own sections: a grid of network sizes per detector, not one detector
STUDY_SUITES = (*MEMORY_SUITES, *TRADEOFF_SUITES)
TRIAL_KEYS = ["detector", "dataset", "normal_class", "seed"]
BYTES_PER_FLOAT = 4
SAVED_TENSORS_PER_LAYER = 1  # the input each Linear layer saves for its weight gradient

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
    """Every run of the main suites (not the memory or trade-off studies), any status."""
    s = simple(runs)
    return s[~s["suite"].isin(STUDY_SUITES)]


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
FAMILY_LABELS = {
    "ff": "Forward-Forward",
    "bp": "backprop twin",
    "bpl": "last-layer backprop",
    "ref": "controls",
    "pyod": "PyOD",
}


def family_rank(family: str) -> int:
    """Sort key of a family: the order above, then others."""
    return FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)


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
    from reports.paired import block_values

    return block_values(trial_values(runs, name), name)


@dataclass
class Ranking:
    """Average ranks over blocks (rank 1 = highest AUROC) and Friedman/Nemenyi.

    A block is one (dataset, normal class) pair with its seeds averaged.
    """

    matrix: pd.DataFrame  # block x detector, complete
    ranks: pd.DataFrame  # same shape, per-block ranks
    dropped_detectors: list[str] = field(default_factory=list)
    dropped_datasets: list[str] = field(default_factory=list)  # dropped blocks, "dataset/class"
    statistic: float = float("nan")
    pvalue: float = float("nan")
    cd: float = float("nan")
    alpha: float = 0.05
    reason: str = ""
    unit: str = "blocks (dataset, normal class), seeds averaged"

    @property
    def average(self) -> pd.Series:
        """Average rank per detector, best first."""
        return self.ranks.mean(axis=0).sort_values()

    @property
    def cd_spans_all(self) -> bool:
        """True when the CD is at least the spread of the average ranks: no pair differs."""
        avg = self.average
        return bool(len(avg)) and not (avg.max() - avg.min() >= self.cd)


def complete_matrix(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Drop the detector or row with the largest share of missing cells until none is."""
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
            key = by_ds.idxmax()
            dropped_ds.append("/".join(map(str, key)) if isinstance(key, tuple) else str(key))
            m = m.drop(index=[key])
    return m, dropped_det, dropped_ds


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference: q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def rank_rows(m: pd.DataFrame) -> pd.DataFrame:
    """Per-row ranks, 1 = highest value, ties averaged."""
    return m.apply(lambda row: pd.Series(stats.rankdata(-row.to_numpy()), index=row.index), axis=1)


def friedman(matrix: pd.DataFrame, alpha: float = 0.05) -> Ranking:
    """Friedman test and Nemenyi CD over the rows (blocks) of ``matrix`` (NaN made complete)."""
    m, dd, ds = complete_matrix(matrix)
    r = Ranking(
        matrix=m, ranks=rank_rows(m), dropped_detectors=dd, dropped_datasets=ds, alpha=alpha
    )
    k, n = m.shape[1], m.shape[0]
    if k < 3 or n < 2:
        r.reason = (
            f"the Friedman test needs at least 3 detectors and 2 blocks with complete "
            f"results; there are {k} detectors on {n} blocks"
        )
        return r
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.friedmanchisquare(*(m[d].to_numpy() for d in m.columns))
    r.statistic, r.pvalue = float(res.statistic), float(res.pvalue)
    r.cd = critical_difference(k, n, alpha)
    return r


def ranking(runs: pd.DataFrame, alpha: float = 0.05, datasets: list[str] | None = None) -> Ranking:
    """Friedman over blocks of ``datasets`` (default: all) on AUROC; >= 3 detectors, 2 blocks."""
    b = blocks(runs)
    if datasets is not None and len(b):
        b = b[b.index.get_level_values("dataset").isin(datasets)]
    return friedman(b, alpha)


@dataclass
class FamilyRanking:
    """Best detector of each family (by mean AUROC over the suite's datasets) per block."""

    best: dict[str, str]  # family -> detector
    ranking: Ranking  # columns are families
    pairs: list[tuple[str, str, object]]  # (family a, family b, paired.Paired)
    holm: list[float]


def family_ranking(
    runs: pd.DataFrame, datasets: list[str], families: tuple[str, ...] = ("ff", "bp", "pyod")
) -> FamilyRanking | None:
    """Best FF vs best BP vs best PyOD, each chosen once by mean AUROC over ``datasets``
    (not per block, which would favour the family with most members), compared per block."""
    from reports.paired import holm, paired

    f = finished(runs)
    fam = f.groupby("detector")["family"].first()
    means = mean_over_datasets(cells(runs, "auroc"), datasets)
    means = means[means["n_datasets"] == len(datasets)]  # a value on every dataset
    best = {}
    for family in families:
        members = [d for d in means.index if fam.get(d) == family]
        if members:
            best[family] = max(members, key=lambda d: (means.loc[d, "mean"], d))
    if len(best) < 2:
        return None
    b = blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(datasets)]
    matrix = pd.DataFrame({family: b[det] for family, det in best.items()}).dropna()
    rk = friedman(matrix)
    names = list(best)
    pairs = [
        (x, y, paired(matrix[x].to_numpy(), matrix[y].to_numpy()))
        for i, x in enumerate(names)
        for y in names[i + 1 :]
    ]
    return FamilyRanking(best, rk, pairs, holm([p.p for _, _, p in pairs]))


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


def chance_share(runs: pd.DataFrame) -> pd.Series:
    """Per dataset: the test anomaly share (a random scorer's AUPRC), averaged like a cell
    (per trial, then normal classes, then seeds; every detector sees the same splits)."""
    if not finished(runs).get("anomaly_ratio", pd.Series(dtype=float)).notna().any():
        return pd.Series(dtype=float)
    t = trial_values(runs, "anomaly_ratio")
    per_seed = t.groupby(["dataset", "seed"])["anomaly_ratio"].mean()
    return per_seed.groupby("dataset").mean()


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


def analytic_per_layer(family: str, width: float, batch: float) -> float:
    """Analytic training memory added by one hidden layer (bytes).

    A model with two named terms, set beside the measured slope so a reader sees how well
    it holds. BP: the layer's weight gradient (width x width x 4 B) plus the activation its
    Linear layer saves to compute that gradient (batch x width x 4 B x
    ``SAVED_TENSORS_PER_LAYER``); other saved tensors (activation masks, normalisation
    statistics) are freed as the backward pass goes and are not counted. FF: nothing, since
    a layer's graph and gradient are freed before the next layer trains. The parameters are
    allocated before the meter starts, for both.
    """
    if family in ("bp", "bpl"):
        return (width * width + SAVED_TENSORS_PER_LAYER * batch * width) * BYTES_PER_FLOAT
    return 0.0


def analytic_memory(sweep: pd.DataFrame) -> pd.DataFrame:
    """One analytic line per analytic model and configuration (width, batch): families with
    the same per-layer term (bp and bpl) share one line. It starts from the mean measured
    peak of those families at the smallest depth d0 and adds (depth - d0) x
    ``analytic_per_layer``. ``families`` lists the families a line stands for."""
    rows = []
    several = sweep[["width", "batch_size"]].drop_duplicates().shape[0] > 1
    for (width, batch), cfg in sweep.groupby(["width", "batch_size"]):
        terms: dict[float, list[str]] = {}
        for family in sorted(cfg["family"].unique(), key=family_rank):
            terms.setdefault(analytic_per_layer(str(family), width, batch), []).append(family)
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
