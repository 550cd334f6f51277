"""Cost against accuracy: each detector's mean AUROC beside its memory and fit time, and
the Pareto front of a cost against a score."""

from __future__ import annotations

import pandas as pd

from reports.analysis.frames import cells, finished


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
