"""The stream experiments (the online protocol): prequential AUROC per dataset, the cost per
sample, windowed AUROC curves of the drift stream (logged as ``auroc_window.<i>`` beside the
step metric, their geometry in the tag ``bench.stream.window``), and FF online against its
twins over blocks (dataset, scenario) with seeds averaged first (``reports.analysis.paired``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core import schema
from reports.analysis import paired
from reports.analysis.frames import TRIAL_KEYS, column, finished
from reports.analysis.runs import tag

DRIFT_DATASET = "stream-drift-digits"
FF_FAMILY, TWIN_FAMILIES, BASELINE_FAMILY = "ff-online", ("bp-online", "bpl-online"), "river"
_WINDOW = re.compile(rf"^{re.escape(schema.METRIC_STREAM_AUROC_WINDOW)}\.(\d+)$")
# cost per sample: (metric, column title, scale)
COST = [
    (schema.METRIC_STREAM_SCORE_PER_SAMPLE, "score µs/sample", 1e6),
    (schema.METRIC_STREAM_UPDATE_PER_SAMPLE, "update µs/sample", 1e6),
    (schema.METRIC_STREAM_THROUGHPUT, "samples/s", 1.0),
    (schema.METRIC_PEAK_TRAIN_MEM, "peak heap KiB", 1 / 1024),
]


def stream_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished stream runs (those that logged a throughput), short column names."""
    f = finished(runs)
    key = schema.METRIC_STREAM_THROUGHPUT
    if key not in f:
        return f.iloc[0:0]
    return f[pd.to_numeric(f[key], errors="coerce").notna()]


def order(s: pd.DataFrame) -> list[str]:
    """Detectors: FF online, its twins, the streaming baselines, others; then by name."""
    rank = {FF_FAMILY: 0, TWIN_FAMILIES[0]: 1, TWIN_FAMILIES[1]: 2, BASELINE_FAMILY: 3}
    pairs = s[["detector", "family"]].drop_duplicates()
    return [
        d for d, _ in sorted(pairs.itertuples(index=False), key=lambda p: (rank.get(p[1], 9), p[0]))
    ]


def _seed_means(s: pd.DataFrame, name: str) -> pd.DataFrame:
    """(detector, dataset, seed) -> ``name`` averaged over repeated runs, then scenarios."""
    t = s.dropna(subset=[name]).groupby(TRIAL_KEYS, as_index=False)[name].mean()
    return t.groupby(["detector", "dataset", "seed"], as_index=False)[name].mean()


def auroc_cells(s: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dataset x detector prequential AUROC: mean and std (ddof=1) over seeds, scenarios
    averaged per seed."""
    g = _seed_means(s, "auroc").groupby(["dataset", "detector"])["auroc"]
    return g.mean().unstack(), g.std(ddof=1).unstack()


def cost(s: pd.DataFrame, det: str) -> list[float]:
    """A detector's means over its finished stream runs of every ``COST`` metric, scaled."""
    part = s[s["detector"] == det]
    out = []
    for key, _, scale in COST:
        x = pd.to_numeric(part[key], errors="coerce").mean() if key in part else np.nan
        out.append(x * scale if pd.notna(x) else np.nan)
    return out


def drift_curves(s: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Windowed AUROC of the drift stream: rows window index, columns detector, the mean over
    scenarios and seeds; and the mean position of the change (scored samples)."""
    d = s[s["dataset"] == DRIFT_DATASET]
    cols = {int(m.group(1)): c for c in d.columns if (m := _WINDOW.match(str(c)))}
    if d.empty or not cols:
        return pd.DataFrame(), float("nan")
    long = d[["detector", *cols.values()]].rename(columns={v: k for k, v in cols.items()})
    curves = long.groupby("detector").mean(numeric_only=True).T.sort_index()
    at = schema.METRIC_STREAM_DRIFT_AT
    drift = float(pd.to_numeric(d[at], errors="coerce").mean()) if at in d else float("nan")
    return curves, drift


def window(runs: pd.DataFrame, s: pd.DataFrame) -> tuple[int, int] | None:
    """(size, stride) in scored samples of the drift stream's windows, as its runs recorded
    them (tag ``bench.stream.window``, "<size>/<stride>"); None when none did."""
    d = s[s["dataset"] == DRIFT_DATASET]
    logged = column(runs, tag(schema.TAG_STREAM_WINDOW)).reindex(d.index).dropna()
    if logged.empty:
        return None
    size, stride = str(logged.iloc[0]).split("/")
    return int(size), int(stride)


def best_baseline(s: pd.DataFrame, dataset: str | None = None) -> str | None:
    """The streaming baseline with the highest mean AUROC (on ``dataset``, or on all)."""
    b = s[s["family"] == BASELINE_FAMILY]
    if dataset is not None:
        b = b[b["dataset"] == dataset]
    if b.empty:
        return None
    return str(b.groupby("detector")["auroc"].mean().idxmax())


def twin_differences(s: pd.DataFrame) -> list[tuple[str, str, paired.Paired]]:
    """FF online detector minus each twin, over blocks (dataset, scenario), seeds averaged."""
    values = s.groupby(TRIAL_KEYS, as_index=False)["auroc"].mean()
    blocks = paired.block_values(values, "auroc")
    out = []
    for ff in sorted(s.loc[s["family"] == FF_FAMILY, "detector"].unique()):
        twins = s[(s["twin"] == ff) & s["family"].isin(TWIN_FAMILIES)]["detector"].unique()
        for twin in sorted(twins):
            if ff in blocks and twin in blocks:
                out.append((ff, twin, paired.compare(blocks, ff, twin)))
    return out
