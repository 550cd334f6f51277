"""The setup block of the report: what was run, on what, with which versions and meters."""

from __future__ import annotations

import pandas as pd

from bench import schema
from reports import stats
from reports.runs import param, tag
from reports.tables import MISSING, Table, number

HP_COLUMN = param(schema.HPARAM_PREFIX)
VERSION_COLUMN = tag(schema.TAG_VERSION_PREFIX)


def values(series: pd.Series) -> str:
    """Distinct non-empty values, sorted, comma separated."""
    v = sorted({str(x) for x in series.dropna() if str(x) != ""})
    return ", ".join(v) if v else MISSING


def _range(series: pd.Series, digits: int = 0) -> str:
    s = pd.to_numeric(series, errors="coerce").dropna()
    if s.empty:
        return MISSING
    lo, hi = number(s.min(), digits), number(s.max(), digits)
    return lo if lo == hi else f"{lo}–{hi}"


def _col(runs: pd.DataFrame, name: str) -> pd.Series:
    return stats.column(runs, name)


def overview(runs: pd.DataFrame) -> list[str]:
    """Experiments, run counts by status, suites, seeds."""
    counts = runs["status"].value_counts()
    status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    s = stats.simple(runs)
    seeds = sorted({x for x in s["seed"] if x}, key=lambda x: (len(x), x))
    suites = s[s["suite"] != ""].groupby("suite").size()
    return [
        f"- Experiments: {values(runs['experiment'])}",
        f"- Runs: {len(runs)} ({status or 'none'})",
        "- Suites: " + (", ".join(f"{k} ({n} runs)" for k, n in suites.items()) or MISSING),
        "- Seeds: " + (", ".join(seeds) or MISSING),
    ]


def _datasets(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    ds = _col(runs, param(schema.PARAM_DATASET)).astype(str)
    return [(name, runs[ds == name]) for name in sorted(set(ds) - {"", "nan"})]


def datasets_table(runs: pd.DataFrame) -> Table:
    """Per dataset: protocol, number of normal classes, split sizes, anomaly ratio."""
    rows = [
        [
            name,
            values(_col(g, tag(schema.TAG_DATA_PROTOCOL))),
            str(stats.simple(g).query("normal_class != ''")["normal_class"].nunique()),
            _range(_col(g, "metrics." + schema.METRIC_N_TRAIN)),
            _range(_col(g, "metrics." + schema.METRIC_N_TEST)),
            _range(_col(g, "metrics." + schema.METRIC_ANOMALY_RATIO), 3),
        ]
        for name, g in _datasets(runs)
    ]
    header = ["dataset", "protocol", "classes", "n_train", "n_test", "anomaly ratio"]
    return Table(header, rows)


def datasets_provenance(runs: pd.DataFrame) -> list[str]:
    """Per dataset: source, preprocessing and data hash, as bullet lines (too long for a table)."""
    return [
        f"- **{name}**: source {values(_col(g, tag(schema.TAG_DATA_SOURCE)))}; "
        f"preprocessing {values(_col(g, tag(schema.TAG_DATA_PREPROCESSING)))}; "
        f"sha256 `{values(_col(g, tag(schema.TAG_DATA_SHA256)))}`"
        for name, g in _datasets(runs)
    ]


def detectors_table(runs: pd.DataFrame, order: list[str]) -> Table:
    """Per detector: family, objective, arch, twin and every hyperparameter value used."""
    det = _col(runs, param(schema.PARAM_DETECTOR)).astype(str)
    hp_cols = sorted(c for c in runs.columns if c.startswith(HP_COLUMN))
    rows = []
    for name in order:
        g = runs[det == name]
        hps = "; ".join(
            f"{c[len(HP_COLUMN) :]}={values(g[c])}" for c in hp_cols if g[c].notna().any()
        )
        rows.append(
            [
                name,
                values(_col(g, tag(schema.TAG_FAMILY))),
                values(_col(g, tag(schema.TAG_OBJECTIVE))),
                values(_col(g, tag(schema.TAG_ARCH))),
                values(_col(g, tag(schema.TAG_TWIN))),
                hps or MISSING,
            ]
        )
    return Table(["detector", "family", "objective", "arch", "twin", "hyperparameters"], rows)


def provenance(runs: pd.DataFrame) -> list[str]:
    """Hardware, package versions and git commits, as bullet lines."""
    hw = pd.DataFrame(
        {
            k: _col(runs, tag(t)).fillna("").astype(str)
            for k, t in [
                ("host", schema.TAG_HOST),
                ("cpu", schema.TAG_CPU),
                ("device", schema.TAG_DEVICE),
            ]
        }
    )
    hw = hw[(hw != "").any(axis=1)]
    lines = ["- Hardware (host / cpu / device, runs):"]
    lines += [
        f"  - {h or MISSING} / {c or MISSING} / {d or MISSING}: {n}"
        for (h, c, d), n in hw.groupby(["host", "cpu", "device"]).size().items()
    ]
    if hw.empty:
        lines.append(f"  - {MISSING}")
    versions = [c for c in runs.columns if c.startswith(VERSION_COLUMN)]
    lines.append(
        f"- Benchmark version: {values(_col(runs, tag(schema.TAG_VERSION)))}; "
        f"schema: {values(_col(runs, tag(schema.TAG_SCHEMA)))}"
    )
    lines.append(
        "- Package versions: "
        + (
            "; ".join(f"{c[len(VERSION_COLUMN) :]} {values(runs[c])}" for c in sorted(versions))
            or MISSING
        )
    )
    lines.append(f"- Git commit: {values(_col(runs, tag(schema.TAG_GIT_COMMIT)))}")
    return lines


def meters(runs: pd.DataFrame) -> list[str]:
    """Which memory meter measured ``peak_train_mem_bytes``, per device and detector."""
    s = stats.simple(runs)
    s["device"] = _col(runs, tag(schema.TAG_DEVICE)).fillna("").astype(str)
    s = s[(s["meter"] != "") & (s["detector"] != "")]
    lines = [
        "- Memory meters (`peak_train_mem_bytes`; every memory number and figure below "
        "comes from these):"
    ]
    for (meter, device), g in s.groupby(["meter", "device"]):
        lines.append(f"  - {meter} on {device or MISSING}: {values(g['detector'])}")
    if s.empty:
        lines.append(f"  - {MISSING}")
    return lines
