"""The selections behind tuned networks, read from their runs (tag ``bench.selection``: the
label-free procedure, its search space, budget, tuning splits and the chosen values)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from core import schema
from reports.analysis.frames import main_trials
from reports.analysis.runs import FINISHED, param, tag


def selections(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Tuned detector -> the selection record its newest finished main-suite run logged."""
    col = tag(schema.TAG_SELECTION)
    if col not in runs:
        return {}
    main = runs.loc[main_trials(runs).index]
    done = main[(main["status"] == FINISHED) & main[col].notna() & (main[col] != "")]
    out = {}
    for det, g in done.groupby(param(schema.PARAM_DETECTOR)):
        out[str(det)] = json.loads(g[col].iloc[-1])
    return dict(sorted(out.items()))
