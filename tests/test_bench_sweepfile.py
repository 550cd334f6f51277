"""Sweep files (``run --config sweep.toml``): grids, precedence of the command line, errors
with the file's line before anything runs, the file logged with every run, ablation tables."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bench.cli import main
from bench.tomllines import locate
from core import schema
from reports import read_results

GRID = """\
# an ablation of two detectors on wine
detectors = ["pyod-knn", "ff-hb-svdd-mlp"]
datasets = ["wine"]
seeds = 2
experiment = "grid"

[params]
epochs = 2

[detector.pyod-knn.grid]
n_neighbors = [3, 7]

[detector.ff-hb-svdd-mlp]
batch_size = 16

[detector.ff-hb-svdd-mlp.grid]
lr = [0.001, 0.01]
widths = [
  [16],
  [16, 8],
]
"""


def _file(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _plan(capsys, *args: str) -> list[tuple[str, dict]]:
    assert main(["run", *args, "--dry-run"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out.splitlines()
    rows = []
    for line in out:
        parts = line.split("  ", 2)
        if len(parts) == 3 and parts[2].startswith("{"):
            rows.append((parts[1], json.loads(parts[2])))
    return rows


def test_grid_gives_one_trial_per_combination_and_flags_override_the_file(tmp_path, capsys):
    path = _file(tmp_path, GRID)
    plan = _plan(capsys, "--config", str(path))
    knn = [hp for name, hp in plan if name.startswith("pyod-knn/")]
    ff = [hp for name, hp in plan if name.startswith("ff-hb-svdd-mlp/")]
    assert len(knn) == 3 * 2 * 2  # wine's classes x seeds x n_neighbors
    assert sorted({hp["n_neighbors"] for hp in knn}) == [3, 7]
    assert len(ff) == 3 * 2 * 4  # x (lr x widths)
    combos = {(hp["lr"], tuple(hp["widths"])) for hp in ff}
    assert combos == {(lr, w) for lr in (0.001, 0.01) for w in ((16,), (16, 8))}
    assert {(hp["epochs"], hp["batch_size"]) for hp in ff} == {(2, 16)}

    # the command line wins: --param collapses a grid, --seeds and -d replace the file's
    plan = _plan(capsys, "--config", str(path), "--param", "lr=0.1", "--seeds", "1",
                 "-d", "ff-hb-svdd-mlp")  # fmt: skip
    assert {name.split("/")[0] for name, _ in plan} == {"ff-hb-svdd-mlp"}
    assert {hp["lr"] for _, hp in plan} == {0.1}
    assert len(plan) == 3 * 1 * 2  # classes x one seed x widths


ERRORS = [  # (file text, line of the error, words of the message)
    ('detectors = ["pyod-knn"]\nseed = 2\n', 2, "unknown key 'seed'; did you mean 'seeds'?"),
    ('detectors = ["pyod-knn"]\nseeds = "two"\n', 2, "seeds must be a positive integer"),
    ('detectors = ["pyod-knn"\ndatasets = ["wine"]\n', 2, "not valid TOML"),
    ('datasets = ["wine"]\n\ndetectors = ["pyod-knm"]\n', 3, "unknown detector 'pyod-knm'"),
    ('detectors = ["pyod-knn"]\ndatasets = ["wine", "wnie"]\n', 2, "unknown dataset 'wnie'"),
    ('detectors = ["pyod-knn"]\nsuite = "embeded"\n', 2, "unknown suite 'embeded'"),
    (
        'detectors = ["pyod-knn"]\ndatasets = ["wine"]\n[detector.pyod-knn]\nn_neighbours = 3\n',
        4,
        "unknown hyperparameter 'n_neighbours'; did you mean 'n_neighbors'?",
    ),
    (
        'detectors = ["ff-hb-svdd-mlp"]\ndatasets = ["wine"]\n\n[grid]\nepochs = [2, 2.5]\n',
        5,
        "epochs = 2.5: ff-hb-svdd-mlp needs a positive integer",
    ),
    (
        'detectors = ["ff-hb-svdd-mlp"]\ndatasets = ["wine"]\n[grid]\nlr = 0.1\n',
        4,
        "grid value lr must be a non-empty list",
    ),
    (
        'detectors = ["pyod-knn"]\ndatasets = ["wine"]\n[detector.pyod-lof]\nn_neighbors = 3\n',
        3,
        "[detector.pyod-lof] matches no selected detector",
    ),
    (
        'detectors = ["ff-hb-svdd-mlp"]\ndatasets = ["wine"]\n[detector."ff-*"]\n'
        'widths = [\n  64,\n  -1,\n]\n',
        4,
        "ff-hb-svdd-mlp refuses",
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), ERRORS)
def test_errors_name_the_line_and_nothing_is_written(tmp_path, capsys, text, line, words):
    path = _file(tmp_path, text)
    db = tmp_path / "never.db"
    code = main(["run", "--config", str(path), "--tracking-uri", f"sqlite:///{db}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"error: {path}:{line}: "), err
    assert words in err
    assert len(err.splitlines()) == 1
    assert not db.exists()


def test_locate_finds_keys_in_tables_dotted_keys_and_after_multiline_arrays():
    text = (
        'a = 1\nb = [\n  "x = 2",\n  [3],\n]\n[t."q.r"]\nc.d = 4\n[t.u.grid]\n'
        "e = [1, 2]  # [not a table]\n"
    )
    lines = locate(text)
    assert lines[("a",)] == 1 and lines[("b",)] == 2
    assert ("x",) not in lines  # inside the array
    assert lines[("t", "q.r")] == 6 and lines[("t", "q.r", "c", "d")] == 7
    assert lines[("t", "u", "grid", "e")] == 9


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    path = _file(tmp, 'detectors = ["pyod-knn"]\ndatasets = ["wine"]\nseeds = 2\n'
                      'experiment = "knn-grid"\n[grid]\nn_neighbors = [2, 9]\n')  # fmt: skip
    uri = f"sqlite:///{tmp}/grid.db"
    code = main(["run", "--config", str(path), "--tracking-uri", uri, "--workers", "1",
                 "--no-progress"])  # fmt: skip
    return path, uri, code, tmp


def test_sweep_file_is_an_artifact_and_its_sha256_a_tag_of_every_run(grid_sweep):
    path, uri, code, _ = grid_sweep
    assert code == 0
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("knn-grid")
    runs = [
        r for r in client.search_runs([exp.experiment_id]) if schema.TAG_TRIAL_HASH in r.data.tags
    ]
    assert len(runs) == 3 * 2 * 2
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for run in runs:
        assert run.data.tags[schema.TAG_SWEEP_FILE_SHA256] == digest
        assert run.data.tags[schema.TAG_SWEEP_FILE] == "sweep.toml"
    copy = client.download_artifacts(runs[0].info.run_id, "sweep.toml")
    assert Path(copy).read_bytes() == path.read_bytes()


def test_report_groups_by_a_swept_hyperparameter(grid_sweep, capsys):
    _, uri, _, tmp = grid_sweep
    out = tmp / "report"
    code = main(["report", "--experiment", "knn-grid", "--tracking-uri", uri, "--out", str(out),
                 "--no-log", "--group-by", "hp.n_neighbors"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    text = (out / "report.md").read_text()
    section = text.split("### AUROC by `hp.n_neighbors`", 1)[1]
    runs = read_results(out / "results.csv")
    runs = runs[runs["status"] == "FINISHED"]
    for k in ("2", "9"):  # classes averaged per seed, then mean over seeds
        one = runs[runs["params.hp.n_neighbors"] == k]
        per_seed = one.groupby("params.seed")["metrics.auroc"].mean()
        row = next(line for line in section.splitlines() if line.startswith(f"| pyod-knn | {k} |"))
        assert f"{per_seed.mean():.3f} ± {per_seed.std():.3f}" in row
    assert (out / "tables" / "ablation-hp-n-neighbors.tex").exists()

    code = main(["report", "--experiment", "knn-grid", "--tracking-uri", uri, "--out", str(out),
                 "--no-log", "--group-by", "hp.n_neighbours"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "no run has it; swept here: hp.n_neighbors" in err


def test_ablation_table_without_std_for_a_single_seed():
    from reports import UnknownGroupKey
    from reports.sections.ablation import table

    runs = pd.DataFrame(
        {
            "status": ["FINISHED"] * 2,
            "params.detector": ["d", "d"],
            "params.dataset": ["x", "x"],
            "params.normal_class": ["0", "0"],
            "params.seed": ["0", "0"],
            "params.hp.k": ["1", "10"],
            "metrics.auroc": [0.5, 0.75],
        }
    )
    t, col = table(runs, "k")
    assert col == "params.hp.k"
    assert t.rows == [["d", "1", "0.500", "0.500"], ["d", "10", "0.750", "0.750"]]
    assert (1, 2) in t.bold and (1, 3) in t.bold
    failed = runs.drop(columns="metrics.auroc").assign(status="FAILED")
    with pytest.raises(UnknownGroupKey, match="no FINISHED run with an AUROC"):
        table(failed, "k")
