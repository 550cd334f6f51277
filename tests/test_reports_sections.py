"""Report sections: failed and skipped trials listed, figures written, empty sections said."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import synthetic_runs as synthetic  # pytest puts tests/ on sys.path
from mlflow.tracking import MlflowClient

import reports
from core import schema

EXPERIMENT = "sections"
FIGURES = [
    "memory_vs_auroc",
    "fit_time_vs_auroc",
    "auroc_distributions",
    "cd_diagram",
    "memory_vs_depth",
    "step_time_vs_depth",
]
TABLES = [
    "datasets",
    "hyperparameters",
    "auroc",
    "auprc",
    "ranks",
    "families",
    "cost",
    "memory_depth",
    "memory_growth",
    "step_time",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    synthetic.write_experiment(uri, EXPERIMENT, root / "artifacts")
    return uri, root


@pytest.fixture(scope="module")
def full(store: tuple[str, Path]) -> tuple[pd.DataFrame, Path]:
    uri, root = store
    path = reports.build_report([EXPERIMENT], uri, root / "report", log=True)
    return reports.read_results(root / "report" / "results.csv"), path


def test_failed_and_skipped_trials_listed(full: tuple[pd.DataFrame, Path]) -> None:
    runs, path = full
    text = path.read_text()
    section = text[text.index("## Failed, skipped and unfinished trials") :]
    detector, dataset, cls, seed = synthetic.FAILED
    failed = f"| {schema.run_name(detector, dataset, cls, seed)} | {detector} | {dataset} | {cls}"
    assert failed in section and "FAILED | MemoryError: boom |" in section
    skipped = synthetic.SKIPPED
    line = f"- {skipped['reason']} (1 detector × dataset): {skipped['detector']} on toy_c"
    assert line in section.splitlines()
    assert "| SKIPPED |" not in section  # one line per reason, not one row per trial
    assert "2 trials did not finish" in section
    assert set(runs["status"]) == {"FINISHED", "FAILED", "SKIPPED"}
    failed_row = runs[runs["status"] == "FAILED"].iloc[0]
    assert failed_row["tags.bench.error"] == "MemoryError: boom"


def test_figures_written_for_every_section_with_data(full: tuple[pd.DataFrame, Path]) -> None:
    _, path = full
    text = path.read_text()
    for name in FIGURES:
        for ext in ("png", "pdf"):
            f = path.parent / "figures" / f"{name}.{ext}"
            assert f.stat().st_size > 1000, f
        box = re.search(
            rb"/MediaBox \[\s*0 0 ([\d.]+)", (path.parent / "figures" / f"{name}.pdf").read_bytes()
        )
        assert float(box.group(1)) <= 3.5 * 72, name  # short names: every figure one column
        assert f"(figures/{name}.png)" in text
    for name in TABLES:
        assert (path.parent / "tables" / f"{name}.tex").stat().st_size > 0


def test_report_logged_as_summary_run(store: tuple[str, Path], full: tuple) -> None:
    uri, _ = store
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    found = client.search_runs([exp.experiment_id], "tags.`bench.summary` = 'report'")
    assert len(found) == 1
    names = {a.path for a in client.list_artifacts(found[0].info.run_id)}
    assert {"report.md", "results.csv", "figures", "tables"} <= names
    again = reports.load_runs([EXPERIMENT], uri)
    assert len(again) == len(full[0])  # the summary run is not a trial


def test_sections_without_data_say_so(full: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    runs, _ = full
    only = runs[(runs["params.detector"] == "pyod-iforest") & (runs["params.dataset"] == "toy_a")]
    text = reports.write_report(only, tmp_path).read_text()
    assert "No contrast can be formed" in text
    assert "No ranking: the Friedman test needs at least 3 detectors and 2 blocks" in text
    assert "no depth study" in text
    assert "None: every trial run finished." in text
    assert not (tmp_path / "figures" / "memory_vs_depth.png").exists()
    assert not (tmp_path / "figures" / "cd_diagram.png").exists()
    assert (tmp_path / "figures" / "memory_vs_auroc.png").stat().st_size > 1000


def test_report_of_only_failed_runs(full: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    runs, _ = full
    text = reports.write_report(runs[runs["status"] != "FINISHED"], tmp_path).read_text()
    assert "No finished run logged auroc." in text
    assert "No finished run with an AUROC." in text
    assert "MemoryError: boom" in text


def test_latex_escapes_and_booktabs(full: tuple[pd.DataFrame, Path]) -> None:
    _, path = full
    tex = (path.parent / "tables" / "auroc.tex").read_text()
    assert "toy\\_a" in tex and "toy_a" not in tex.replace("toy\\_a", "")
    assert tex.count("\\toprule") == tex.count("\\bottomrule") == 1
    # one rule under the header, one between each pair of families (ff, bp, pyod)
    assert tex.count("\\midrule") == 3
    assert "±" not in tex and "—" not in tex


def test_empty_experiment(store: tuple[str, Path], tmp_path: Path) -> None:
    uri, root = store
    MlflowClient(tracking_uri=uri).create_experiment("empty", (root / "empty").as_uri())
    runs = reports.load_runs(["empty"], uri)
    assert runs.empty and list(runs.columns[:4]) == ["run_id", "experiment", "run_name", "status"]
    text = reports.write_report(runs, tmp_path).read_text()
    assert "- Runs: 0 (none)" in text and "No finished run logged auroc." in text


def test_rows_without_trial_keys_and_skipped_only_datasets(
    full: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    """A run with no params (a claim of an interrupted sweep) does not break the report, and
    a dataset that was only ever skipped is listed under skipped, not in the dataset table."""
    runs, _ = full
    extra = pd.DataFrame(
        [
            {"run_id": "claim", "experiment": EXPERIMENT, "run_name": "claim", "status": "KILLED"},
            {
                "run_id": "skip",
                "experiment": EXPERIMENT,
                "run_name": "skipped",
                "status": "SKIPPED",
                "params.detector": "ff-hb-svdd-cnn",
                "params.dataset": "toy_z",
                "tags.bench.error": "needs image data",
            },
        ]
    )
    text = reports.write_report(pd.concat([runs, extra], ignore_index=True), tmp_path).read_text()
    datasets = text[text.index("### Datasets") : text.index("### Detectors")]
    assert "| toy_a |" in datasets and "toy_z" not in datasets
    assert "- needs image data (1 detector × dataset): ff-hb-svdd-cnn on toy_z" in text
