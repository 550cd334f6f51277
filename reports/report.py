"""Write the report directory (results.csv, report.md, tables/, figures/) and log it to MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from core import schema
from core.metrics import SCORE_METRICS, ScoreMetric
from reports import (
    ablation,
    decomposition,
    figures,
    findings,
    paired,
    setup,
    stats,
    tables,
    verdict,
)
from reports import memory as memory_section
from reports import stream as stream_section
from reports import tradeoff as tradeoff_section
from reports.runs import FINISHED, SKIPPED, load_runs
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
        self.latex([table], name, caption)

    def latex(self, parts: list[Table], name: str, caption: str | list[str]) -> None:
        """``tables/<name>.tex``: one float per part (a table split to fit the column), with
        one caption for all or one per part."""
        path = self.out_dir / "tables" / f"{name}.tex"
        path.parent.mkdir(parents=True, exist_ok=True)
        captions = caption if isinstance(caption, list) else [caption] * len(parts)
        text = []
        for k, t in enumerate(parts):
            more = f" (part {k + 1} of {len(parts)})" if isinstance(caption, str) else ""
            more = more if len(parts) > 1 else ""
            label = f"tab:{name}" + (f"-{k + 1}" if len(parts) > 1 else "")
            text.append(t.latex(captions[k] + more, label))
        path.write_text("\n".join(text))

    def figure(self, paths: list[Path], caption: str) -> None:
        rel = paths[0].relative_to(self.out_dir).as_posix()
        self.add(f"![{caption}]({rel})", "", f"*{caption}* (PDF: `{rel[:-4]}.pdf`)", "")


MEAN_AUROC = (
    "Mean AUROC (one definition in every table): the mean over datasets of the per-dataset "
    "mean, where a per-dataset value averages normal classes per seed and then seeds."
)
AGGREGATION = (
    "Aggregation: runs of one trial (detector, dataset, normal class, seed) are averaged, then "
    "normal classes are averaged per seed, then mean ± sample std (ddof=1) over seeds. Only "
    f"{FINISHED} runs outside the study suites ({', '.join(stats.STUDY_SUITES)}) count. "
    "Column `mean`: the mean over the suite's datasets of the per-dataset means (for AUROC "
    "this is the report's one definition of mean AUROC, used by every table). Rank: "
    "average rank over blocks (dataset, normal class; seeds averaged), 1 = best, among the "
    "detectors with every block of the suite. Best per column in bold; "
    f"{tables.INCOMPLETE} marks a cell missing some of the dataset's (normal class, seed) "
    f"trials, or a mean missing a dataset; {tables.BELOW_CHANCE} marks a value below chance; "
    f"{MISSING} means no finished trial. Rows are grouped by family."
)
CHANCE = (
    "Chance levels: a random scorer has AUROC 0.5 on every split, and AUPRC equal to the test "
    "set's anomaly share (the `chance` row of the AUPRC table, averaged like a cell)."
)


def _findings(
    doc: _Doc, runs: pd.DataFrame, groups: list[verdict.Group], heads: list[list]
) -> None:
    doc.add(
        "## Findings",
        "",
        "Computed from the runs, each with a link to the table that holds its numbers; the "
        "controls and tests are defined in the next section.",
        "",
        *findings.summary(runs, groups, heads),
        "",
    )


def _verdict(doc: _Doc, runs: pd.DataFrame, groups: list[verdict.Group], heads: list[list]) -> None:
    doc.add(f"## {findings.VERDICT_TITLE}", "")
    if not groups:
        doc.add(
            "No finished run of a trained network (families "
            f"{', '.join(verdict.TRAINED_FAMILIES)}): no verdict.",
            "",
        )
        return
    doc.add(
        "Did training help? Per group (a suite's datasets of one data protocol), every trained "
        "network's headline AUROC against two controls: its **untrained** control "
        "(`untrained-<objective>-<arch>`: the same network and seed with zero training steps, "
        "read with the detector's scoring rule; a control only where every hyperparameter it "
        "logged equals the detector's) and the **input norm** (`ref-input-norm`, the squared "
        "norm of the preprocessed input). Unit: blocks (dataset, normal class), seeds "
        "averaged first; AUROC columns are the report's mean (over datasets of per-dataset "
        "means) over the blocks both sides have; Δ is the median over blocks of detector − "
        "control with a 95% bootstrap interval (10 000 resamples, seed 0); p: one-sided "
        "Wilcoxon signed-rank (detector > control), Holm-corrected across the detectors of the "
        f"group, per control; * marks p Holm < {verdict.ALPHA}. `learned`: beats its untrained "
        "control after Holm.",
        "",
        "FF against its twin and PyOD: each FF detector's AUROC against its same-loss backprop "
        "twin (`bp-*`) and against the group's best PyOD detector (chosen once by mean AUROC, "
        "not per block); Δ = FF − other, median over blocks with its 95% bootstrap interval; p: "
        "two-sided Wilcoxon, Holm-corrected across the FF detectors of the group.",
        "",
    )
    for g, rows in zip(groups, heads, strict=True):
        title = findings.group_title(g)
        slug = title.lower().replace(" ", "_").replace(",", "").replace(":", "")
        doc.add(
            f"### {title}", "", verdict.sentence(g), "", f"Datasets: {', '.join(g.datasets)}.", ""
        )
        doc.table(
            verdict.table(g),
            slug,
            f"Learning verdict, {g.name}: trained networks against their untrained control "
            "and the input norm (one-sided Wilcoxon over blocks, Holm).",
        )
        if verdict.no_control(g):
            doc.add(verdict.no_control(g), "")
        if rows:
            learned = {t.detector for t in g.learned()}
            doc.table(
                findings.headline_table(rows, learned),
                slug + "_ff",
                f"FF against its same-loss twin and the best PyOD detector, {g.name} "
                "(two-sided Wilcoxon over blocks, Holm).",
            )


def _controls_line(groups: list[verdict.Group]) -> str:
    """Where the controls were beaten: the context every FF-vs-BP or FF-vs-PyOD claim needs."""
    beaten = [g.name for g in groups if g.learned()]
    norm = [g.name for g in groups if any(t.significant for t in g.input_norm)]
    missed = [g.name for g in groups if not g.learned()]
    parts = [
        "Read with the learning verdict ([verdict]"
        f"({verdict.anchor(findings.VERDICT_TITLE)})): a trained network beats its untrained "
        f"control on {'; '.join(beaten) or 'no group'}, and the input norm on "
        f"{'; '.join(norm) or 'no group'}."
    ]
    if missed:
        parts.append(
            f"No evidence of learning on {'; '.join(missed)}: a difference between detectors "
            "there measures the architectures' prior, not training."
        )
    return " ".join(parts)


def _setup(doc: _Doc, runs: pd.DataFrame, order: list[str]) -> None:
    doc.add(
        "## Setup",
        "",
        *setup.overview(runs),
        setup.hardware(runs),
        *setup.provenance(runs),
        *setup.meters(runs),
        "",
        "### Datasets",
        "",
    )
    doc.table(
        setup.datasets_table(runs),
        "datasets",
        "Datasets: normal classes, split sizes, input dimension d and test anomaly share "
        "(the AUPRC of a random scorer).",
    )
    doc.add(*setup.datasets_provenance(runs), "", "### Detectors", "")
    doc.add(setup.detectors_table(runs, order).markdown(), "")
    doc.latex(
        [setup.hyperparameter_table(runs, order)],
        "hyperparameters",
        "Hyperparameters per detector (values set per run, such as the seed or the input "
        "size, are left out; a studied variable gives its number of values).",
    )
    doc.add(
        "LaTeX: `tables/hyperparameters.tex` (full width) holds the hyperparameters alone. "
        "Every `tables/*.tex` needs `\\usepackage{booktabs,graphicx,array}`.",
        "",
    )


def _metric(doc: _Doc, runs: pd.DataFrame, m: ScoreMetric) -> None:
    name, label = m.name, m.label
    doc.add(f"## {label}", "")
    if not stats.finished(runs)[name].notna().any():
        doc.add(f"No finished run logged {name}.", "")
        return
    doc.add(AGGREGATION, "", CHANCE, "")
    parts = tables.metric_tables(runs, m)
    latex, captions = [], []
    chance = m.chance_text() + (" (last row)" if m.chance is None else "")
    for p in parts:
        doc.add(f"### {label}, suite {p.suite}", "", p.markdown.markdown(), "")
        for k, t in enumerate(p.latex):
            more = f", part {k + 1} of {len(p.latex)}" if len(p.latex) > 1 else ""
            latex.append(t)
            captions.append(
                f"{label}, suite {p.suite}{more}: mean over seeds (normal classes averaged "
                "first), mean over datasets, average rank over blocks (1 = best). Bold: best "
                f"per column; dagger: incomplete; double dagger: below chance ({chance})."
            )
    doc.latex(latex, name, captions)
    doc.add(
        f"LaTeX: `tables/{name}.tex`, detectors as rows, means only (std over seeds is in "
        "the tables above); a suite whose datasets do not fit one column is split into "
        "full-width parts.",
        "",
    )


def _twins(doc: _Doc, runs: pd.DataFrame, groups: list[verdict.Group]) -> None:
    doc.add("## Forward-Forward versus backprop, one difference at a time", "")
    doc.add(_controls_line(groups), "")
    rows = decomposition.decompose(runs)
    if not rows:
        doc.add(
            "No contrast can be formed: it needs finished runs of an FF detector and of its "
            "twins (`bp-*`, `bpl-*`, `bpl-*-nonorm`) or its untrained control on the same "
            "blocks.",
            "",
        )
        return
    doc.add(
        "Each row changes one thing and holds the rest equal (column `effect`; A − B names "
        "the detector and scoring rule of each side; every rule is scored from the same fit). "
        "(a) gradient flow: FF against the same-loss backprop twin; (b) scoring rule: `sum` "
        "against `last`; (c) loss placement: per-layer losses against the last-layer "
        "objective, both backprop; (d) length normalisation between layers on against off; "
        "(e) learning: trained against the untrained network of the same seed. Unit: blocks "
        "(dataset, normal class), seeds averaged first; A and B are mean AUROC (the report's "
        "one definition: mean over datasets of per-dataset means) over the blocks both have; "
        "Δ is A − B per block with a 95% bootstrap interval of its median; `datasets +/−` "
        "counts datasets whose median Δ is positive / negative (a sign flip shows); p is the "
        "two-sided Wilcoxon signed-rank test (exact or normal approximation, as marked), "
        f"Holm-corrected over the {len(rows)} tests of the table; * marks p Holm < "
        f"{decomposition.ALPHA}.",
        "",
    )
    doc.table(
        decomposition.table(rows),
        "decomposition",
        "FF versus backprop, one difference at a time (paired over blocks, Holm-corrected).",
    )
    doc.add("In words:", "", *decomposition.summary(rows), "")
    collapsed = decomposition.collapsed(runs)
    if collapsed:
        doc.add(
            "Collapsed goodness layers (last-epoch mean goodness below "
            "`ff.detector.COLLAPSE_GOODNESS`: the zero map, which minimises goodness on normals "
            f"only; tag `{schema.TAG_COLLAPSED}`): " + "; ".join(collapsed) + ".",
            "",
        )
    flagged = decomposition.below_chance(runs)
    if flagged:
        doc.add(
            "Below chance (headline AUROC < 0.5, mean over a dataset's blocks): "
            + "; ".join(flagged)
            + ".",
            "",
        )


def _friedman_text(r: stats.Ranking, what: str) -> str:
    k, n = r.matrix.shape[1], r.matrix.shape[0]
    text = (
        f"Unit: {r.unit}; {n} blocks, {k} {what}. Friedman χ² = {r.statistic:.3f}, "
        f"p = {tables.p_value(r.pvalue)} (`scipy.stats.friedmanchisquare`, χ² approximation). "
        f"Nemenyi critical difference at α = {r.alpha}: CD = {r.cd:.3f} ranks "
        "(q_α/√2 · √(k(k+1)/(6N)), q from `scipy.stats.studentized_range`, N = blocks)."
    )
    avg = r.average
    spread = avg.max() - avg.min()
    if r.cd_spans_all:
        text += (
            f" The CD ({r.cd:.2f}) is at least the whole spread of average ranks "
            f"({spread:.2f}): no pair of {what} differs significantly at α = {r.alpha}."
        )
    else:
        text += f" Average ranks span {spread:.2f}."
    return text


def _ranks(doc: _Doc, runs: pd.DataFrame, groups: list[verdict.Group]) -> None:
    doc.add("## Average ranks and Friedman test", "")
    doc.add(_controls_line(groups), "")
    suites = stats.suites(runs)
    for suite, datasets in suites.items():
        if len(suites) > 1:
            doc.add(f"### Suite {suite}", "")
        r = stats.ranking(runs, datasets=datasets)
        if r.dropped_detectors or r.dropped_datasets:
            doc.add(
                "Left out to make the block × detector AUROC matrix complete: detectors "
                f"{', '.join(r.dropped_detectors) or MISSING}; blocks "
                f"{', '.join(r.dropped_datasets) or MISSING}.",
                "",
            )
        if r.reason:
            doc.add(f"No ranking: {r.reason}.", "")
            continue
        doc.add(_friedman_text(r, "detectors"), "")
        suffix = "" if len(suites) == 1 else f"_{suite}"
        doc.table(
            tables.rank_table(r),
            "ranks" + suffix,
            f"Average rank over blocks (dataset, normal class), suite {suite} (1 = best).",
        )
        cd_caption = (
            "Critical-difference diagram: detectors joined by a bar are not significantly "
            "different (Nemenyi over blocks)."
        )
        if r.cd_spans_all:
            cd_caption += " Here the CD spans every detector: no pair differs."
        doc.figure(
            figures.cd_diagram(r, doc.out_dir / "figures", "cd_diagram" + suffix), cd_caption
        )
        _families(doc, runs, datasets, suffix)


def _families(doc: _Doc, runs: pd.DataFrame, datasets: list[str], suffix: str) -> None:
    """Best FF vs best BP vs best PyOD per block: few columns, so power with few blocks."""
    fr = stats.family_ranking(runs, datasets)
    doc.add("#### Families: best FF, best BP, best PyOD", "")
    if fr is None:
        doc.add(
            "Fewer than two of the families ff, bp, pyod have a detector with results on "
            "every dataset of the suite.",
            "",
        )
        return
    doc.add(
        "The best detector of each family is chosen once, by mean AUROC over the suite's "
        "datasets (not per block, which would favour the family with most members): "
        + "; ".join(f"{f}: {d}" for f, d in fr.best.items())
        + ". "
        + (
            _friedman_text(fr.ranking, "families")
            if not fr.ranking.reason
            else f"No Friedman test: {fr.ranking.reason}."
        ),
        "",
        "Paired over blocks: two-sided Wilcoxon signed-rank test (`scipy.stats.wilcoxon`, "
        "zero differences dropped; exact null distribution when at most 50 non-zero, untied "
        "differences, normal approximation otherwise), Holm-adjusted over the family pairs; "
        "median difference with a 95% percentile bootstrap interval (10 000 resamples of "
        "blocks, seed 0); wins/losses/ties; median difference per dataset (sign flips show).",
        "",
    )
    b = stats.blocks(runs)
    b = b[b.index.get_level_values("dataset").isin(datasets)]
    rows = []
    for (x, y, p), adj in zip(fr.pairs, fr.holm, strict=True):
        per_ds = paired.per_dataset_medians(
            pd.DataFrame({x: b[fr.best[x]], y: b[fr.best[y]]}), x, y
        )
        rows.append(tables.paired_row(f"{x} − {y}", p, adj, per_ds))
    md, tex = tables.paired_table(rows, datasets)
    doc.add(md.markdown(), "")
    doc.latex(
        [tex],
        "families" + suffix,
        f"Best detector per family, paired over n = {fr.pairs[0][2].n} blocks: median "
        "difference of AUROC with 95% bootstrap CI, Wilcoxon p (exact; ≈: normal "
        "approximation), Holm-adjusted p, wins/losses/ties.",
    )


def _cost(doc: _Doc, runs: pd.DataFrame, order: list[str]) -> None:
    doc.add("## Cost versus accuracy", "")
    cost = stats.cost(runs)
    if cost.empty:
        doc.add("No finished run with an AUROC.", "")
        return
    meters = setup.values(cost["meter"])
    doc.add(
        MEAN_AUROC
        + f" Here over all {stats.finished(runs)['dataset'].nunique()} datasets of the main "
        "suites. Memory: mean over finished runs of peak training memory (MiB, meter "
        f"{meters}); fit time: mean over finished runs (s). Pareto M (T): no other detector "
        "has less or equal memory (fit time) with higher or equal mean AUROC, one of them "
        "strictly.",
        "",
    )
    fam = tables.families(runs)
    doc.table(
        tables.cost_table(cost, fam),
        "cost",
        f"Mean AUROC over datasets against peak training memory ({meters}) and fit time; "
        "Pareto-optimal in memory (M) or time (T).",
    )
    twins = stats.twin_map(runs)
    if cost["peak_train_mem_bytes"].notna().any():
        doc.figure(
            figures.memory_vs_auroc(cost, fam, twins, doc.out_dir / "figures"),
            f"Mean AUROC against peak training memory (meters: {meters}), coloured by family; "
            "thin lines join an FF detector to its twins; Pareto front dashed and labelled.",
        )
    else:
        doc.add("No run logged peak training memory: no memory figure.", "")
    if cost["fit_seconds"].notna().any():
        doc.figure(
            figures.fit_time_vs_auroc(cost, fam, twins, doc.out_dir / "figures"),
            "Mean AUROC against fit time, coloured by family; thin lines join an FF detector "
            "to its twins; Pareto front dashed and labelled.",
        )
    else:
        doc.add("No run logged fit time: no fit-time figure.", "")
    doc.add("### AUROC per block", "")
    doc.figure(
        figures.auroc_points(stats.blocks(runs), order, fam, doc.out_dir / "figures"),
        "AUROC of every block (dataset, normal class; seeds averaged), one marker per dataset; "
        "dotted: chance (0.5).",
    )


def _pairs_text(pairs: list[tuple[str, str]]) -> str:
    """Detector x dataset pairs, short: "a, b on x, y" for a full cross product, else
    "a on x, y; b on z"."""
    dets = sorted({d for d, _ in pairs})
    datasets = sorted({ds for _, ds in pairs})
    if len(pairs) == len(dets) * len(datasets):
        return f"{', '.join(dets)} on {', '.join(datasets)}"
    return "; ".join(f"{d} on {', '.join(ds for x, ds in pairs if x == d)}" for d in dets)


def _problems(doc: _Doc, runs: pd.DataFrame) -> None:
    doc.add("## Failed, skipped and unfinished trials", "")
    bad = runs[runs["status"] != FINISHED]
    if bad.empty:
        doc.add("None: every trial run finished.", "")
        return
    s = stats.simple(bad)
    error = stats.column(bad, "tags." + schema.TAG_ERROR).fillna("").astype(str)
    error = error.str.replace("|", "/").str.replace("\n", " ")
    doc.add(f"{len(bad)} trials did not finish; none of them enters a table above.", "")
    skipped = bad["status"] == SKIPPED
    if skipped.any():
        doc.add("Skipped by the harness, one line per reason:", "")
        for reason, idx in s[skipped].groupby(error[skipped]).groups.items():
            g = s.loc[idx]
            pairs = sorted(set(zip(g["detector"], g["dataset"], strict=True)))
            listed = _pairs_text(pairs)
            doc.add(f"- {reason or MISSING} ({len(pairs)} detector × dataset): {listed}")
        doc.add("")
    rows = [
        [
            str(bad.at[i, "run_name"]),
            s.at[i, "detector"],
            s.at[i, "dataset"],
            s.at[i, "normal_class"] or MISSING,
            s.at[i, "seed"] or MISSING,
            str(bad.at[i, "status"]),
            error[i] or MISSING,
        ]
        for i in bad.index[~skipped.to_numpy()]
    ]
    if rows:
        doc.add(
            Table(
                ["run", "detector", "dataset", "class", "seed", "status", "error"], rows
            ).markdown(),
            "",
        )


def _appendix(doc: _Doc, runs: pd.DataFrame) -> None:
    f = stats.finished(runs)
    doc.add("## Appendix: per-class tables", "")
    if f.empty:
        doc.add("No finished runs.", "")
    for name, label in ((m.name, m.label) for m in SCORE_METRICS):
        for d in sorted(f.dropna(subset=[name])["dataset"].unique()):
            doc.add(
                f"### {label}, {d}",
                "",
                "Mean ± std over seeds per normal class.",
                "",
                tables.class_table(runs, name, d).markdown(),
                "",
            )


def write_report(
    runs: pd.DataFrame, out_dir: Path, *, title: str = DEFAULT_TITLE, group_by: tuple = ()
) -> Path:
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
    main = stats.main_trials(runs)
    groups = verdict.groups(runs)
    heads = [findings.headlines(runs, g) for g in groups]
    _findings(doc, runs, groups, heads)
    if not main.empty:
        _verdict(doc, runs, groups, heads)
    _setup(doc, runs, tables.detector_order(runs, suites="all"))
    memory = [s for s in stats.MEMORY_SUITES if not stats.memory_runs(runs, s).empty]
    if main.empty and memory:
        doc.add(
            f"This report holds only the {', '.join(f'`{s}`' for s in memory)} "
            f"suite{'s' if len(memory) > 1 else ''} (memory and time studies): their runs "
            "enter no accuracy table, so those sections are left out.",
            "",
        )
    else:
        for m in SCORE_METRICS:
            _metric(doc, runs, m)
        _twins(doc, runs, groups)
        _ranks(doc, runs, groups)
        _cost(doc, runs, order)
    stream_section.section(doc, runs)  # the online protocol; nothing without stream runs
    memory_section.section(doc, runs)  # the memory suites; one line without them
    tradeoff_section.section(doc, runs)  # memory x AUROC over a grid; nothing without it
    ablation.section(doc, runs, group_by)  # --group-by: AUROC per swept hyperparameter value
    _problems(doc, runs)
    if not main.empty or not memory:
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
    experiments: list[str],
    tracking_uri: str | None,
    out_dir: Path,
    log: bool = True,
    group_by: tuple | list = (),
) -> Path:
    """Load the experiments' runs, write the report; with ``log``, attach it to each experiment."""
    runs = load_runs(experiments, tracking_uri)
    path = write_report(runs, Path(out_dir), group_by=tuple(group_by))
    if log:
        for name in experiments:
            log_report(Path(out_dir), name, tracking_uri)
    return path
