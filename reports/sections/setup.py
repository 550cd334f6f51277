"""The setup section: what was run, on what, with which versions and meters; the datasets
and the detectors with their hyperparameters."""

from __future__ import annotations

import pandas as pd

from core import schema
from reports.analysis.context import Context
from reports.analysis.frames import MISSING, STUDY_SUITES, column, detector_order, simple
from reports.analysis.runs import SKIPPED, param, tag
from reports.render.document import Document
from reports.render.formats import number, values
from reports.render.table import Table

HP_COLUMN = param(schema.HPARAM_PREFIX)
VERSION_COLUMN = tag(schema.TAG_VERSION_PREFIX)


def write(doc: Document, ctx: Context) -> None:
    runs, order = ctx.runs, detector_order(ctx.runs, suites="all")
    doc.add(
        "## Setup",
        "",
        *overview(runs),
        hardware(runs),
        *provenance(runs),
        *meters(runs),
        "",
        "### Datasets",
        "",
    )
    doc.table(
        datasets_table(runs),
        "datasets",
        "Datasets: normal classes, split sizes, input dimension d and test anomaly share "
        "(the AUPRC of a random scorer).",
    )
    doc.add(*datasets_provenance(runs), "", "### Detectors", "")
    doc.add(detectors_table(runs, order).markdown(), "")
    doc.latex(
        [hyperparameter_table(runs, order)],
        "hyperparameters",
        "Hyperparameters per detector (values set per run, such as the seed or the input "
        "size, are left out; a studied variable gives its number of values).",
    )
    doc.add(
        "LaTeX: `tables/hyperparameters.tex` (full width) holds the hyperparameters alone. "
        "Every `tables/*.tex` needs `\\usepackage{booktabs,graphicx,array}`.",
        "",
    )


def _range(series: pd.Series, digits: int = 0) -> str:
    s = pd.to_numeric(series, errors="coerce").dropna()
    if s.empty:
        return MISSING
    lo, hi = number(s.min(), digits), number(s.max(), digits)
    return lo if lo == hi else f"{lo}–{hi}"


def _col(runs: pd.DataFrame, name: str) -> pd.Series:
    return column(runs, name)


def overview(runs: pd.DataFrame) -> list[str]:
    """Experiments, run counts by status, suites, seeds."""
    counts = runs["status"].value_counts()
    status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    s = simple(runs)
    seeds = sorted({x for x in s["seed"] if x}, key=lambda x: (len(x), x))
    suites = s[s["suite"] != ""].groupby("suite").size()
    return [
        f"- Experiments: {values(runs['experiment'])}",
        f"- Runs: {len(runs)} ({status or 'none'})",
        "- Suites: " + (", ".join(f"{k} ({n} runs)" for k, n in suites.items()) or MISSING),
        "- Seeds: " + (", ".join(seeds) or MISSING),
    ]


def _datasets(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Datasets with a run that was not skipped (a skipped-only dataset has nothing to show)."""
    ds = _col(runs, param(schema.PARAM_DATASET)).fillna("").astype(str)
    ran = set(ds[runs["status"] != SKIPPED]) if "status" in runs else set(ds)
    return [(name, runs[ds == name]) for name in sorted(ran - {"", "nan"})]


def _features(g: pd.DataFrame) -> str:
    """Input dimension d: the ``n_features`` metric, else the hyperparameter PyOD's sized
    detectors log, else the missing mark."""
    for c in ("metrics.n_features", HP_COLUMN + "n_features"):
        if c in g and g[c].notna().any():
            return _range(g[c])
    return MISSING


def _mean_share(g: pd.DataFrame) -> str:
    """Test anomaly share averaged over runs per normal class, then over classes."""
    share = pd.to_numeric(_col(g, "metrics." + schema.METRIC_ANOMALY_RATIO), errors="coerce")
    cls = _col(g, param(schema.PARAM_NORMAL_CLASS)).fillna("").astype(str)
    per_class = share.groupby(cls).mean().dropna()
    return number(per_class.mean(), 3) if len(per_class) else MISSING


def datasets_table(runs: pd.DataFrame) -> Table:
    """Per dataset: protocol, normal classes, split sizes, input dimension d, anomaly share
    of the test set (the AUPRC of a random scorer)."""
    rows = [
        [
            name,
            values(_col(g, tag(schema.TAG_DATA_PROTOCOL))),
            str(simple(g).query("normal_class != ''")["normal_class"].nunique()),
            _range(_col(g, "metrics." + schema.METRIC_N_TRAIN)),
            _range(_col(g, "metrics." + schema.METRIC_N_TEST)),
            _features(g),
            _mean_share(g),
        ]
        for name, g in _datasets(runs)
    ]
    header = ["dataset", "protocol", "classes", "n_train", "n_test", "d", "anomaly share"]
    return Table(
        header,
        rows,
        spec=r"l>{\raggedright\arraybackslash\hspace{0pt}}p{1.6cm}rrrrr",
        rotate={2, 3, 4, 5, 6},
    )


def datasets_provenance(runs: pd.DataFrame) -> list[str]:
    """Per dataset: source, preprocessing and data hash, as bullet lines (too long for a table)."""
    return [
        f"- **{name}**: source {values(_col(g, tag(schema.TAG_DATA_SOURCE)))}; "
        f"preprocessing {values(_col(g, tag(schema.TAG_DATA_PREPROCESSING)))}; "
        f"sha256 `{values(_col(g, tag(schema.TAG_DATA_SHA256)))}`"
        for name, g in _datasets(runs)
    ]


# Set per run by the harness, not chosen: the seed, the input size, the device, logging.
PER_RUN_HPARAMS = ("random_state", "seed", "n_features", "device", "verbose")
# More distinct values than this over a detector's runs: a studied variable (a grid), named.
MAX_SHOWN_VALUES = 3


def hyperparameters(g: pd.DataFrame) -> str:
    """``key=value; ...`` over a detector's runs, without per-run values; a key with several
    values lists them, one with many says how many."""
    parts = []
    for c in sorted(c for c in g.columns if c.startswith(HP_COLUMN)):
        key = c[len(HP_COLUMN) :]
        if key in PER_RUN_HPARAMS or not g[c].notna().any():
            continue
        distinct = {str(x) for x in g[c].dropna() if str(x) != ""}
        shown = values(g[c]) if len(distinct) <= MAX_SHOWN_VALUES else f"{len(distinct)} values"
        parts.append(f"{key}={shown}")
    return "; ".join(parts) or MISSING


def _detector_runs(runs: pd.DataFrame, det: pd.Series, name: str) -> pd.DataFrame:
    """A detector's runs of the accuracy suites, or of the study suites when it has no other."""
    g = runs[det == name]
    main = ~_col(g, tag(schema.TAG_SUITE)).fillna("").astype(str).isin(STUDY_SUITES)
    return g[main] if main.any() else g


def detectors_table(runs: pd.DataFrame, order: list[str]) -> Table:
    """Per detector: family, objective, arch, twin and its hyperparameters (not per-run ones)."""
    det = _col(runs, param(schema.PARAM_DETECTOR)).fillna("").astype(str)
    rows = []
    for name in order:
        g = _detector_runs(runs, det, name)
        rows.append(
            [
                name,
                values(_col(g, tag(schema.TAG_FAMILY))),
                values(_col(g, tag(schema.TAG_OBJECTIVE))),
                values(_col(g, tag(schema.TAG_ARCH))),
                values(_col(g, tag(schema.TAG_TWIN))),
                hyperparameters(g),
            ]
        )
    return Table(["detector", "family", "objective", "arch", "twin", "hyperparameters"], rows)


def hyperparameter_table(runs: pd.DataFrame, order: list[str]) -> Table:
    """One row per detector, grouped by family: its hyperparameters (LaTeX: full width)."""
    det = _col(runs, param(schema.PARAM_DETECTOR)).fillna("").astype(str)
    fam = _col(runs, tag(schema.TAG_FAMILY)).fillna("").astype(str)
    rows = [[name, hyperparameters(_detector_runs(runs, det, name))] for name in order]
    family = [values(fam[det == name]) for name in order]
    rules = {i for i in range(1, len(order)) if family[i] != family[i - 1]}
    return Table(
        ["detector", "hyperparameters"],
        rows,
        rules=rules,
        spec=r"l>{\raggedright\arraybackslash}p{0.7\textwidth}",
        wide=True,
    )


HARDWARE = [
    ("CPU (model x logical cores)", schema.TAG_CPU),
    ("RAM", "bench.ram_bytes"),
    ("OS", "bench.os"),
    ("Python", schema.TAG_VERSION_PREFIX + "python"),
    ("torch threads per trial", "bench.threads_per_trial"),
    ("workers", "bench.workers"),
    ("device", schema.TAG_DEVICE),
]


def hardware(runs: pd.DataFrame) -> str:
    """One line: CPU, cores, RAM, OS, Python, threads per trial, workers, device; what a
    run did not log says so."""
    parts = []
    for label, key in HARDWARE:
        v = values(_col(runs, tag(key)))
        if key == "bench.ram_bytes" and v != MISSING:
            v = ", ".join(f"{float(x) / 2**30:.1f} GiB" for x in v.split(", "))
        parts.append(f"{label}: {'not logged' if v == MISSING else v}")
    return "- Hardware line: " + "; ".join(parts)


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
    s = simple(runs)
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
