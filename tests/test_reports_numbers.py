"""Every number of report.md and tables/*.tex recomputed independently from results.csv."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import reports
from reports import runs as runs_module
from reports import synthetic

EXPERIMENT = "synthetic"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    synthetic.write_experiment(uri, EXPERIMENT, root / "artifacts")
    out = root / "report"
    reports.build_report([EXPERIMENT], uri, out, log=False)
    return uri, out


@pytest.fixture(scope="module")
def csv(store: tuple[str, Path]) -> pd.DataFrame:
    return reports.read_results(store[1] / "results.csv")


@pytest.fixture(scope="module")
def md(store: tuple[str, Path]) -> str:
    return (store[1] / "report.md").read_text()


def md_table(text: str, heading: str) -> list[list[str]]:
    """Rows (header first) of the first pipe table after ``heading``."""
    after = text[text.index(heading + "\n") :]
    lines = [ln for ln in after.splitlines() if ln.startswith("|")]
    start = after.splitlines().index(lines[0])
    rows = []
    for ln in after.splitlines()[start:]:
        if not ln.startswith("|"):
            break
        if not ln.startswith("|---"):
            rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def tex_rows(path: Path) -> list[list[str]]:
    """Cells of a booktabs table, header first."""
    text = path.read_text()
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
    body = text[text.index("\\toprule") + 8 : text.index("\\bottomrule")]
    lines = [ln for ln in body.replace("\\midrule", "").splitlines() if ln.strip()]
    return [[c.strip() for c in ln.rstrip("\\ ").split(" & ")] for ln in lines]


def main_finished(csv: pd.DataFrame) -> pd.DataFrame:
    ok = (csv["status"] == "FINISHED") & (csv["tags.bench.suite"] != "memory")
    return csv[ok]


def expected_cells(
    csv: pd.DataFrame, name: str
) -> dict[tuple[str, str], tuple[float, float, bool]]:
    """(dataset, detector) -> (mean over seeds, std over seeds, complete)."""
    f = main_finished(csv).dropna(subset=[f"metrics.{name}"])
    attempted = csv[(csv["tags.bench.suite"] != "memory") & csv["params.normal_class"].notna()]
    out = {}
    for (ds, det), g in f.groupby(["params.dataset", "params.detector"]):
        per_seed = []
        for _, gs in g.groupby("params.seed"):
            classes = gs.groupby("params.normal_class")[f"metrics.{name}"].mean()
            per_seed.append(classes.mean())
        wanted = attempted[attempted["params.dataset"] == ds]
        n_expected = len(wanted[["params.normal_class", "params.seed"]].drop_duplicates())
        n_have = len(g[["params.normal_class", "params.seed"]].drop_duplicates())
        std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else math.nan
        out[(ds, det)] = (float(np.mean(per_seed)), std, n_have >= n_expected)
    return out


def fmt(mean: float, std: float) -> str:
    return f"{mean:.3f}" if math.isnan(std) else f"{mean:.3f} ± {std:.3f}"


@pytest.mark.parametrize("name,heading", [("auroc", "## AUROC"), ("auprc", "## AUPRC")])
def test_main_tables_match_recomputation(
    csv: pd.DataFrame, md: str, store: tuple[str, Path], name: str, heading: str
) -> None:
    cells = expected_cells(csv, name)
    table = md_table(md, heading)
    tex = tex_rows(store[1] / "tables" / f"{name}.tex")
    header = table[0]
    assert header[1:] == [h.replace("\\_", "_") for h in tex[0][1:]]
    assert len(table) - 1 == len({ds for ds, _ in cells}) == len(tex) - 1
    n_bold = 0
    for row, tex_row in zip(table[1:], tex[1:], strict=True):
        ds = row[0]
        assert tex_row[0] == ds.replace("_", "\\_")
        best = max(round(m, 3) for (d, _), (m, _, _) in cells.items() if d == ds)
        for det, cell, tex_cell in zip(header[1:], row[1:], tex_row[1:], strict=True):
            if (ds, det) not in cells:
                assert cell == "—" and tex_cell == "--"
                continue
            mean, std, complete = cells[(ds, det)]
            text = fmt(mean, std) + ("" if complete else "†")
            latex = text.replace(" ± ", " $\\pm$ ").replace("†", "$^\\dagger$")
            if round(mean, 3) == best:
                n_bold += 1
                text, latex = f"**{text}**", f"\\textbf{{{latex}}}"
            assert cell == text
            assert tex_cell == latex
    assert n_bold >= len(table) - 1


def test_incomplete_cell_is_marked(md: str) -> None:
    row = next(r for r in md_table(md, "## AUROC") if r[0] == "toy_b")
    assert row[-1].endswith("†")  # pyod-knn failed one toy_b trial


def test_twin_table_matches_scipy(csv: pd.DataFrame, md: str, store: tuple[str, Path]) -> None:
    f = main_finished(csv)
    keys = ["params.dataset", "params.normal_class", "params.seed"]
    cols = ["metrics.auroc", "metrics.peak_train_mem_bytes", "metrics.fit_seconds"]
    ff = f[f["params.detector"] == synthetic.FF].groupby(keys)[cols].mean()
    bp = f[f["params.detector"] == synthetic.BP].groupby(keys)[cols].mean()
    pair = ff.join(bp, lsuffix="_ff", rsuffix="_bp", how="inner").sort_index()
    res = stats.wilcoxon(pair["metrics.auroc_ff"], pair["metrics.auroc_bp"])
    header, row = md_table(md, "## Forward-Forward versus backprop twin")
    got = dict(zip(header, row, strict=True))
    mem = (
        pair["metrics.peak_train_mem_bytes_bp"].mean()
        / pair["metrics.peak_train_mem_bytes_ff"].mean()
    )
    fit = pair["metrics.fit_seconds_bp"].mean() / pair["metrics.fit_seconds_ff"].mean()
    assert got == {
        "objective": "hb-svdd",
        "arch": "mlp",
        "FF": synthetic.FF,
        "BP": synthetic.BP,
        "n": str(len(pair)),
        "AUROC FF": f"{pair['metrics.auroc_ff'].mean():.3f}",
        "AUROC BP": f"{pair['metrics.auroc_bp'].mean():.3f}",
        "Δ (FF−BP)": f"{(pair['metrics.auroc_ff'] - pair['metrics.auroc_bp']).mean():.3f}",
        "Wilcoxon W": f"{res.statistic:.1f}",
        "p": f"{res.pvalue:.3f}",
        "mem BP/FF": f"{mem:.2f}",
        "fit BP/FF": f"{fit:.2f}",
        "memory meter": "memray-peak-heap",
    }
    tex = tex_rows(store[1] / "tables" / "twins.tex")
    assert tex[1][8:10] == [f"{res.statistic:.1f}", f"{res.pvalue:.3f}"]


def test_friedman_ranks_and_cd_match_scipy(csv: pd.DataFrame, md: str) -> None:
    cells = expected_cells(csv, "auroc")
    matrix = pd.Series({k: v[0] for k, v in cells.items()}).unstack()
    matrix = matrix.dropna(axis=1)  # pyod-knn was skipped on toy_c
    assert "pyod-knn" not in matrix.columns and matrix.shape == (3, 3)
    res = stats.friedmanchisquare(*(matrix[c] for c in matrix.columns))
    k, n = matrix.shape[1], matrix.shape[0]
    q = stats.studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2)
    cd = q * np.sqrt(k * (k + 1) / (6 * n))
    assert f"Friedman χ² = {res.statistic:.3f}, p = {res.pvalue:.3f}" in md
    assert f"CD = {cd:.3f}" in md
    assert "detectors pyod-knn" in md
    ranks = matrix.apply(lambda r: pd.Series(stats.rankdata(-r), index=r.index), axis=1).mean()
    table = md_table(md, "## Average ranks and Friedman test")
    got = {r[0]: r[1] for r in table[1:]}
    best = ranks.idxmin()
    want = {d: f"{v:.2f}" for d, v in ranks.items()}
    want[best] = f"**{want[best]}**"
    assert got == want


def test_cost_table_and_pareto(csv: pd.DataFrame, md: str) -> None:
    cells = expected_cells(csv, "auroc")
    f = main_finished(csv)
    table = md_table(md, "## Cost versus accuracy")
    got = {r[0]: r[1:] for r in table[1:]}
    points: dict[str, tuple[float, float, float]] = {}
    for det, g in f.groupby("params.detector"):
        auroc = np.mean([m for (_, d), (m, _, _) in cells.items() if d == det])
        mem, fit = g["metrics.peak_train_mem_bytes"].mean(), g["metrics.fit_seconds"].mean()
        points[det] = (mem, fit, auroc)
        assert got[det][:4] == [
            f"{auroc:.3f}",
            f"{mem / 2**20:.1f}",
            f"{fit:.2f}",
            "memray-peak-heap",
        ]
    for column, axis in [(4, 0), (5, 1)]:
        for det, p in points.items():
            dominated = any(
                q[axis] <= p[axis] and q[2] >= p[2] and (q[axis] < p[axis] or q[2] > p[2])
                for q in points.values()
            )
            assert got[det][column] == ("" if dominated else "yes")
    assert got[synthetic.FF][4] == "yes"


def test_depth_table_and_analytic_line(csv: pd.DataFrame, md: str, store: tuple[str, Path]) -> None:
    mem = csv[(csv["tags.bench.suite"] == "memory") & (csv["status"] == "FINISHED")]
    table = md_table(md, "## Peak training memory versus depth")
    header, rows = table[0], table[1:]
    bp = mem[mem["params.detector"] == synthetic.BP].set_index("metrics.depth")
    d0 = bp.index.min()
    for row in rows:
        depth = float(row[0])
        for det, cell in zip(header[1:], row[1:], strict=True):
            if det.endswith("(analytic)"):
                batch = float(bp.loc[depth, "params.hp.batch_size"])
                width = bp.loc[depth, "metrics.width"]
                value = (
                    bp.loc[d0, "metrics.peak_train_mem_bytes"] + (depth - d0) * batch * width * 8
                )
            else:
                g = mem[(mem["params.detector"] == det) & (mem["metrics.depth"] == depth)]
                value = g["metrics.peak_train_mem_bytes"].mean()
            assert cell == f"{value / 2**20:.2f}"
    assert tex_rows(store[1] / "tables" / "memory_depth.tex")[1:] == rows


def test_per_class_appendix(csv: pd.DataFrame, md: str) -> None:
    f = main_finished(csv)
    for ds, g in f.groupby("params.dataset"):
        table = md_table(md, f"### AUROC, {ds}")
        header = table[0]
        for row in table[1:]:
            values = {}
            for det in header[1:]:
                v = g[(g["params.detector"] == det) & (g["params.normal_class"] == row[0])]
                v = v.groupby("params.seed")["metrics.auroc"].mean()
                values[det] = (v.mean(), v.std(ddof=1)) if len(v) else None
            best = max(round(m[0], 3) for m in values.values() if m)
            for det, cell in zip(header[1:], row[1:], strict=True):
                if values[det] is None:
                    assert cell == "—"
                    continue
                text = fmt(*values[det])
                assert cell == (f"**{text}**" if round(values[det][0], 3) == best else text)


def test_setup_block(md: str) -> None:
    assert "- Seeds: 0, 1, 2" in md
    assert "testhost / Test CPU / cpu" in md
    assert "mlflow 3.17.2; torch 2.5.0" in md
    assert "- Git commit: abc123" in md
    assert "memray-peak-heap on cpu:" in md
    datasets = {r[0]: r for r in md_table(md, "### Datasets")[1:]}
    assert datasets["toy_b"][2:5] == ["2", "103", "400"]


def test_load_runs_pages_and_excludes_summaries(
    store: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = store[0]
    full = reports.load_runs([EXPERIMENT], uri)
    monkeypatch.setattr(runs_module, "PAGE_SIZE", 7)
    paged = reports.load_runs([EXPERIMENT], uri)
    assert sorted(paged["run_id"]) == sorted(full["run_id"])
    n_trials = sum(len(c) for c in synthetic.DATASETS.values()) * len(synthetic.SEEDS) * 4
    n_trials -= len(synthetic.SEEDS)  # the skipped (detector, dataset)
    assert (full["status"] != "SKIPPED").sum() == n_trials + 2 * len(synthetic.DEPTHS)
    assert "tags.bench.summary" not in full.columns
    assert {"params.detector", "tags.bench.family", "metrics.auroc", "params.hp.lr"} <= set(
        full.columns
    )
    names = full.loc[full["status"] == "FINISHED", "run_name"]
    assert "ff-hb-svdd-mlp/toy_a/0/s0" in set(names)


def test_missing_experiment_lists_existing(store: tuple[str, Path]) -> None:
    with pytest.raises(ValueError, match=re.escape(EXPERIMENT)) as err:
        reports.load_runs(["no-such-experiment"], store[0])
    assert "no-such-experiment" in str(err.value)
