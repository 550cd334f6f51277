"""Write the report directory (results.csv, report.md, tables/, figures/) and log it to MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from bench import schema
from reports import figures, setup, stats, tables
from reports.runs import FINISHED, load_runs
from reports.tables import MISSING, Table

RESULTS = "results.csv"
REPORT = "report.md"
SUMMARY_REPORT = "report"
DEFAULT_TITLE = "Forward-Forward one-class benchmark"


@dataclass
class _Doc:
    """Markdown being written plus the directories its tables and figures go to."""

    out_dir: Path
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, table: Table, name: str, caption: str) -> None:
        """The table in Markdown, and in ``tables/<name>.tex``."""
        self.add(table.markdown(), "")
        path = self.out_dir / "tables" / f"{name}.tex"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table.latex(caption, f"tab:{name}"))

    def figure(self, paths: list[Path], caption: str) -> None:
        rel = paths[0].relative_to(self.out_dir).as_posix()
        self.add(f"![{caption}]({rel})", "", f"*{caption}* (PDF: `{rel[:-4]}.pdf`)", "")


AGGREGATION = (
    "Aggregation: runs of one trial (detector, dataset, normal class, seed) are averaged, then "
    "normal classes are averaged per seed, then mean ± sample std (ddof=1) over seeds. Only "
    f"{FINISHED} runs outside the `{stats.MEMORY_SUITE}` suite count. Best per dataset (by the "
    f"shown mean) in bold; {tables.INCOMPLETE} marks a cell missing some of the dataset's "
    f"(normal class, seed) trials; {MISSING} means no finished trial."
)


def _setup(doc: _Doc, runs: pd.DataFrame, order: list[str]) -> None:
    doc.add(
        "## Setup",
        "",
        *setup.overview(runs),
        *setup.provenance(runs),
        *setup.meters(runs),
        "",
        "### Datasets",
        "",
        setup.datasets_table(runs).markdown(),
        "",
        *setup.datasets_provenance(runs),
        "",
        "### Detectors",
        "",
        setup.detectors_table(runs, order).markdown(),
        "",
    )


def _metric(doc: _Doc, runs: pd.DataFrame, name: str, label: str) -> None:
    doc.add(f"## {label}", "")
    if stats.finished(runs)[name].notna().any():
        doc.add(AGGREGATION, "")
        doc.table(
            tables.metric_table(runs, name),
            name,
            f"{label}: mean ± std over seeds (normal classes averaged first).",
        )
    else:
        doc.add(f"No finished run logged {name}.", "")


def _twins(doc: _Doc, runs: pd.DataFrame) -> None:
    doc.add("## Forward-Forward versus backprop twin", "")
    comparisons = stats.twins(runs)
    if not comparisons:
        doc.add("No FF detector has finished runs of its backprop twin.", "")
        return
    doc.add(
        "Over trials (dataset, normal class, seed) finished by both: mean AUROC, mean "
        "paired difference, two-sided Wilcoxon signed-rank test (`scipy.stats.wilcoxon`), "
        "and ratios of mean peak training memory and mean fit time (BP / FF).",
        "",
    )
    doc.table(
        tables.twin_table(comparisons), "twins", "FF against its backprop twin on matching trials."
    )


def _ranks(doc: _Doc, runs: pd.DataFrame) -> None:
    doc.add("## Average ranks and Friedman test", "")
    r = stats.ranking(runs)
    if r.dropped_detectors or r.dropped_datasets:
        doc.add(
            "Left out to make the dataset × detector AUROC matrix complete: detectors "
            f"{', '.join(r.dropped_detectors) or MISSING}; datasets "
            f"{', '.join(r.dropped_datasets) or MISSING}.",
            "",
        )
    if r.reason:
        doc.add(f"No ranking: {r.reason}.", "")
        return
    k, n = r.matrix.shape[1], r.matrix.shape[0]
    doc.add(
        f"Ranks of mean AUROC per dataset (1 = best, ties averaged) over {n} datasets and "
        f"{k} detectors. Friedman χ² = {r.statistic:.3f}, p = {tables.p_value(r.pvalue)} "
        f"(`scipy.stats.friedmanchisquare`). Nemenyi critical difference at α = {r.alpha}: "
        f"CD = {r.cd:.3f} (q_α/√2 · √(k(k+1)/(6N)), q from "
        "`scipy.stats.studentized_range`).",
        "",
    )
    doc.table(tables.rank_table(r), "ranks", "Average rank over datasets (1 = best).")
    doc.figure(
        figures.cd_diagram(r, doc.out_dir / "figures"),
        "Critical-difference diagram: detectors joined by a bar are not "
        "significantly different (Nemenyi).",
    )


def _cost(doc: _Doc, runs: pd.DataFrame, order: list[str]) -> None:
    doc.add("## Cost versus accuracy", "")
    cost = stats.cost(runs)
    if cost.empty:
        doc.add("No finished run with an AUROC.", "")
        return
    doc.add(
        "Mean AUROC over datasets (of the AUROC table's means) against the mean over "
        "finished runs of peak training memory and fit time. Pareto memory (time): no other "
        "detector has less or equal memory (fit time) with higher or equal AUROC, one of them "
        "strictly.",
        "",
    )
    doc.table(tables.cost_table(cost), "cost", "Accuracy against training memory and time.")
    meters = setup.values(cost["meter"])
    if cost["peak_train_mem_bytes"].notna().any():
        doc.figure(
            figures.memory_vs_auroc(cost, doc.out_dir / "figures"),
            f"Mean AUROC against peak training memory (meters: {meters}; compare "
            "within a marker shape), Pareto front dashed.",
        )
    else:
        doc.add("No run logged peak training memory: no memory figure.", "")
    if cost["fit_seconds"].notna().any():
        doc.figure(
            figures.fit_time_vs_auroc(cost, doc.out_dir / "figures"),
            "Mean AUROC against fit time, Pareto front dashed.",
        )
    else:
        doc.add("No run logged fit time: no fit-time figure.", "")
    trials = stats.trial_values(runs, "auroc")
    doc.add("### AUROC distributions", "")
    doc.figure(
        figures.auroc_distributions(trials, order, doc.out_dir / "figures"),
        "AUROC of every trial (normal class × seed) per dataset and detector.",
    )


def _depth(doc: _Doc, runs: pd.DataFrame) -> None:
    doc.add("## Peak training memory versus depth", "")
    sweep = stats.memory_sweep(runs)
    if sweep.empty:
        doc.add(
            f"No finished runs of the `{stats.MEMORY_SUITE}` suite with depth, width and "
            "peak training memory: no depth study.",
            "",
        )
        return
    analytic = stats.analytic_activation_memory(sweep)
    doc.add(
        f"Mean peak training memory (MiB) over seeds, meters: {setup.values(sweep['meter'])}. "
        "Analytic BP line: BP's peak at the smallest depth d0 plus (depth − d0) × "
        f"batch_size × width × {stats.BYTES_PER_FLOAT} bytes × "
        f"{stats.SAVED_TENSORS_PER_LAYER} saved tensors per layer.",
        "",
    )
    doc.table(
        tables.sweep_table(sweep, analytic),
        "memory_depth",
        "Peak training memory (MiB) against depth.",
    )
    doc.figure(
        figures.memory_vs_depth(sweep, analytic, doc.out_dir / "figures"),
        f"Peak training memory against depth ({setup.values(sweep['meter'])}); "
        "dotted: analytic activation memory of BP.",
    )


def _problems(doc: _Doc, runs: pd.DataFrame) -> None:
    doc.add("## Failed, skipped and unfinished trials", "")
    bad = runs[runs["status"] != FINISHED]
    if bad.empty:
        doc.add("None: every trial run finished.", "")
        return
    s = stats.simple(bad)
    error = stats.column(bad, "tags." + schema.TAG_ERROR).fillna("").astype(str)
    rows = [
        [
            str(bad.at[i, "run_name"]),
            s.at[i, "detector"],
            s.at[i, "dataset"],
            s.at[i, "normal_class"] or MISSING,
            s.at[i, "seed"] or MISSING,
            str(bad.at[i, "status"]),
            error[i].replace("|", "/").replace("\n", " ") or MISSING,
        ]
        for i in bad.index
    ]
    doc.add(f"{len(bad)} trials did not finish; none of them enters a table above.", "")
    doc.add(
        Table(["run", "detector", "dataset", "class", "seed", "status", "error"], rows).markdown(),
        "",
    )


def _appendix(doc: _Doc, runs: pd.DataFrame) -> None:
    f = stats.finished(runs)
    doc.add("## Appendix: per-class tables", "")
    if f.empty:
        doc.add("No finished runs.", "")
    for name, label in [("auroc", "AUROC"), ("auprc", "AUPRC")]:
        for d in sorted(f.dropna(subset=[name])["dataset"].unique()):
            doc.add(
                f"### {label}, {d}",
                "",
                "Mean ± std over seeds per normal class.",
                "",
                tables.class_table(runs, name, d).markdown(),
                "",
            )


def write_report(runs: pd.DataFrame, out_dir: Path, *, title: str = DEFAULT_TITLE) -> Path:
    """Write results.csv, report.md, tables/*.tex and figures/* into ``out_dir``.

    Returns the path of report.md. Every number in it is recomputable from results.csv.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out_dir / RESULTS, index=False)
    doc = _Doc(out_dir)
    order = tables.detector_order(runs)
    doc.add(
        f"# {title}",
        "",
        f"All numbers below are computed from `{RESULTS}` (one row per MLflow run).",
        "",
    )
    _setup(doc, runs, order)
    _metric(doc, runs, "auroc", "AUROC")
    _metric(doc, runs, "auprc", "AUPRC")
    _twins(doc, runs)
    _ranks(doc, runs)
    _cost(doc, runs, order)
    _depth(doc, runs)
    _problems(doc, runs)
    _appendix(doc, runs)
    path = out_dir / REPORT
    path.write_text("\n".join(doc.lines))
    return path


def log_report(out_dir: Path, experiment: str, tracking_uri: str | None = None) -> str:
    """Log ``out_dir`` as the artifacts of a run tagged ``bench.summary=report``; its run id."""
    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise ValueError(f"no MLflow experiment named {experiment!r}")
    run = client.create_run(
        exp.experiment_id, run_name="report", tags={schema.TAG_SUMMARY: SUMMARY_REPORT}
    )
    client.log_artifacts(run.info.run_id, str(out_dir))
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def build_report(
    experiments: list[str], tracking_uri: str | None, out_dir: Path, log: bool = True
) -> Path:
    """Load the experiments' runs, write the report; with ``log``, attach it to each experiment."""
    path = write_report(load_runs(experiments, tracking_uri), Path(out_dir))
    if log:
        for name in experiments:
            log_report(Path(out_dir), name, tracking_uri)
    return path
