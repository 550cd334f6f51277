"""Every number of report.md and tables/*.tex recomputed independently from results.csv."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_runs as synthetic  # pytest puts tests/ on sys.path
from scipy import stats

import reports
from reports.analysis import runs as runs_module

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


def expected_blocks(csv: pd.DataFrame, name: str = "auroc") -> pd.DataFrame:
    """(dataset, normal class) x detector: trials averaged, then seeds."""
    f = main_finished(csv).dropna(subset=[f"metrics.{name}"])
    keys = ["params.dataset", "params.normal_class", "params.detector"]
    trial = f.groupby([*keys, "params.seed"])[f"metrics.{name}"].mean()
    return trial.groupby(keys).mean().unstack("params.detector")


def block_ranks(blocks: pd.DataFrame) -> pd.Series:
    return blocks.apply(lambda r: pd.Series(stats.rankdata(-r), index=r.index), axis=1).mean()


def sig(value: float, digits: int) -> str:
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def latex_cell(text: str) -> str:
    return (
        text.replace(" ± ", " $\\pm$ ")
        .replace("†", "$^\\dagger$")
        .replace("‡", "$^\\ddagger$")
        .replace("—", "--")
    )


@pytest.mark.parametrize("name,label", [("auroc", "AUROC"), ("auprc", "AUPRC")])
def test_main_tables_match_recomputation(
    csv: pd.DataFrame, md: str, store: tuple[str, Path], name: str, label: str
) -> None:
    """Detectors as rows, datasets as columns, then the mean over datasets and the average
    rank over blocks; best per column bold; † incomplete, ‡ below chance."""
    cells = expected_cells(csv, name)
    datasets = sorted({ds for ds, _ in cells})
    table = md_table(md, f"### {label}, suite embedded")
    tex = tex_rows(store[1] / "tables" / f"{name}.tex")
    header = table[0]
    assert header == ["detector", *datasets, "mean", "rank"]
    assert [re.sub(r"\\rotatebox\{90\}\{(.*)\}", r"\1", h) for h in tex[0]] == [
        h.replace("_", "\\_") for h in header
    ]
    f = main_finished(csv)
    if name == "auroc":
        chance = dict.fromkeys(datasets, 0.5)
    else:  # the test anomaly share, averaged like a cell
        trial = f.groupby(["params.dataset", "params.seed", "params.normal_class"])[
            "metrics.anomaly_ratio"
        ].mean()
        chance = trial.groupby(["params.dataset", "params.seed"]).mean().groupby(level=0).mean()
        assert table[-1] == ["chance", *(f"{chance[d]:.3f}" for d in datasets), "", ""]
    # ranks over blocks: the synthetic pyod-knn misses toy_c's only block, so it is dropped
    blocks = expected_blocks(csv, name).drop(index=[("toy_c", "0")])
    assert not blocks.isna().any().any()
    ranks = block_ranks(blocks)
    rows = {r[0]: r for r in table[1:] if r[0] != "chance"}
    tex_by = {r[0]: r for r in tex[1:]}
    assert list(rows) == ["ff-hb-svdd-mlp", "bp-hb-svdd-mlp", "pyod-iforest", "pyod-knn"]
    columns: dict[int, list[tuple[str, float]]] = {}
    for det, row in rows.items():
        means = []
        for j, ds in enumerate(datasets, start=1):
            if (ds, det) not in cells:
                assert row[j] == "—" and tex_by[det][j] == "--"
                continue
            mean, std, complete = cells[(ds, det)]
            marks = ("" if complete else "†") + ("‡" if mean < chance[ds] else "")
            columns.setdefault(j, []).append((det, mean))
            means.append((mean, complete))
            assert row[j].strip("*") == fmt(mean, std) + marks
            assert tex_by[det][j].removeprefix("\\textbf{").removesuffix("}") == latex_cell(
                f"{mean:.3f}" + marks
            )
        complete = len(means) == len(datasets) and all(c for _, c in means)
        overall = float(np.mean([m for m, _ in means]))
        j = len(datasets) + 1
        assert row[j].strip("*") == f"{overall:.3f}" + ("" if complete else "†")
        if complete:
            columns.setdefault(j, []).append((det, overall))
        assert row[j + 1].strip("*") == f"{ranks[det]:.2f}"
        rank_tex = tex_by[det][j + 1].removeprefix("\\textbf{").removesuffix("}")
        assert rank_tex == f"{ranks[det]:.1f}"
    for j, values in columns.items():
        best = max(round(v, 3) for _, v in values)
        for det, v in values:
            assert rows[det][j].startswith("**") == (round(v, 3) == best), (det, j)
            assert tex_by[det][j].startswith("\\textbf") == (round(v, 3) == best), (det, j)
    best_rank = ranks.round(2).min()
    for det, row in rows.items():
        assert row[-1].startswith("**") == (round(ranks[det], 2) == best_rank)


def test_incomplete_cell_is_marked(md: str) -> None:
    table = md_table(md, "### AUROC, suite embedded")
    row = next(r for r in table if r[0] == "pyod-knn")
    assert row[table[0].index("toy_b")].endswith("†")  # pyod-knn failed one toy_b trial
    assert row[table[0].index("mean")].endswith("†")  # and was skipped on toy_c


def test_friedman_ranks_and_cd_match_scipy(csv: pd.DataFrame, md: str) -> None:
    """Friedman and Nemenyi over blocks (dataset, normal class), seeds averaged first."""
    blocks = expected_blocks(csv)
    assert blocks.isna().sum().sum() == 1  # pyod-knn on toy_c, 0
    matrix = blocks.drop(index=[("toy_c", "0")])
    res = stats.friedmanchisquare(*(matrix[c] for c in matrix.columns))
    k, n = matrix.shape[1], matrix.shape[0]
    q = stats.studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2)
    cd = q * np.sqrt(k * (k + 1) / (6 * n))
    section = md[md.index("## Average ranks and Friedman test") :]
    assert f"Unit: blocks (dataset, normal class), seeds averaged; {n} blocks, {k} detectors" in (
        section
    )
    assert f"Friedman χ² = {res.statistic:.3f}, p = {res.pvalue:.3f}" in section
    assert f"CD = {cd:.3f}" in section
    assert "blocks toy_c/0" in section
    ranks = block_ranks(matrix)
    spans = cd >= ranks.max() - ranks.min()
    assert ("no pair of detectors differs significantly" in section) == spans
    table = md_table(md, "## Average ranks and Friedman test")
    got = {r[0]: r[1] for r in table[1:]}
    best = ranks.idxmin()
    want = {d: f"{v:.2f}" for d, v in ranks.items()}
    want[best] = f"**{want[best]}**"
    assert got == want


FAMILIES = "#### Families: best FF, best BP, best PyOD"


def test_family_ranking_matches_scipy(csv: pd.DataFrame, md: str) -> None:
    """Best FF, BP and PyOD detector (by mean AUROC over datasets), paired over blocks."""
    cells = expected_cells(csv, "auroc")
    family = {"ff": [synthetic.FF], "bp": [synthetic.BP], "pyod": ["pyod-iforest"]}
    # pyod-knn is incomplete (skipped on toy_c), so it cannot be its family's best
    assert all((ds, "pyod-iforest") in cells for ds in synthetic.DATASETS)
    blocks = expected_blocks(csv)[[synthetic.FF, synthetic.BP, "pyod-iforest"]].dropna()
    section = md[md.index(FAMILIES) :]
    table = {r[0]: r for r in md_table(md, FAMILIES)[1:]}
    pvals = []
    for a, b in [("ff", "bp"), ("ff", "pyod"), ("bp", "pyod")]:
        d = blocks[family[a][0]] - blocks[family[b][0]]
        res = stats.wilcoxon(d, method="exact")
        pvals.append(res.pvalue)
        row = table[f"{a} − {b}"]
        assert row[1] == str(len(d))
        assert row[2].startswith(f"{np.median(d):+.3f}".replace("-", "−"))
        assert row[3] == f"{res.statistic:g}"
        assert row[4] == f"{res.pvalue:.3f} (exact)"
        assert row[6] == f"{(d > 0).sum()}/{(d < 0).sum()}/{(d == 0).sum()}"
        for ds, g in d.groupby(level=0):
            col = md_table(md, FAMILIES)[0].index(f"median Δ {ds}")
            assert row[col] == f"{g.median():+.3f}".replace("-", "−")
    order = np.argsort(pvals)
    holm, running = [0.0] * 3, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * pvals[i]))
        holm[i] = running
    got = [table[k][5] for k in ["ff − bp", "ff − pyod", "bp − pyod"]]
    assert got == [f"{h:.3f}" for h in holm]
    assert "ff: ff-hb-svdd-mlp; bp: bp-hb-svdd-mlp; pyod: pyod-iforest" in section


def test_cost_table_and_pareto(csv: pd.DataFrame, md: str) -> None:
    cells = expected_cells(csv, "auroc")
    f = main_finished(csv)
    table = md_table(md, "## Cost versus accuracy")
    assert table[0] == ["detector", "mean AUROC", "memory MiB", "fit s", "Pareto"]
    got = {r[0]: r[1:] for r in table[1:]}
    points: dict[str, tuple[float, float, float]] = {}
    for det, g in f.groupby("params.detector"):
        auroc = np.mean([m for (_, d), (m, _, _) in cells.items() if d == det])
        mem, fit = g["metrics.peak_train_mem_bytes"].mean(), g["metrics.fit_seconds"].mean()
        points[det] = (mem, fit, auroc)
        assert got[det][:3] == [f"{auroc:.3f}", sig(mem / 2**20, 4), sig(fit, 3)]
    for det, p in points.items():
        flags = ""
        for letter, axis in [("M", 0), ("T", 1)]:
            dominated = any(
                q[axis] <= p[axis] and q[2] >= p[2] and (q[axis] < p[axis] or q[2] > p[2])
                for q in points.values()
            )
            flags += "" if dominated else letter
        assert got[det][3] == flags
    assert got[synthetic.FF][3].startswith("M")
    # the same mean AUROC as the AUROC table's mean column (one definition)
    auroc = {r[0]: r[-2].strip("*†") for r in md_table(md, "### AUROC, suite embedded")[1:]}
    assert {d: r[0] for d, r in got.items()} == auroc


def test_memory_tables(csv: pd.DataFrame, md: str, store: tuple[str, Path]) -> None:
    mem = csv[(csv["tags.bench.suite"] == "memory") & (csv["status"] == "FINISHED")]
    per_seed = mem.groupby(["params.detector", "metrics.depth", "params.seed"])[
        "metrics.peak_train_mem_bytes"
    ].mean()
    grouped = per_seed.groupby(["params.detector", "metrics.depth"])
    mean, std = grouped.mean(), grouped.std(ddof=1)
    table = md_table(md, "## Memory study: peak training memory versus depth")
    header, rows = table[0], table[1:]
    assert header == ["depth", synthetic.FF, synthetic.BP, f"{synthetic.BP} / {synthetic.FF}"]
    for row in rows:
        depth = float(row[0])
        for j, det in enumerate([synthetic.FF, synthetic.BP], start=1):
            m, s = mean[(det, depth)] / 2**20, std[(det, depth)] / 2**20
            assert row[j] == f"{sig(m, 4)} ± {sig(s, 2)}"
        assert row[3] == f"{mean[(synthetic.BP, depth)] / mean[(synthetic.FF, depth)]:.2f}"
    tex = tex_rows(store[1] / "tables" / "memory_depth.tex")[1:]
    assert [r[0] for r in tex] == [r[0] for r in rows]
    growth_at = md[md.index("Growth per added hidden layer") :]
    growth = {r[0]: r for r in md_table(growth_at, growth_at.splitlines()[0])[1:]}
    per_layer = (synthetic.WIDTH**2 + synthetic.BATCH * synthetic.WIDTH) * 4 / 2**20
    for det in (synthetic.FF, synthetic.BP):
        m = mean[det]
        slope = np.polyfit(m.index.to_numpy(float), m.to_numpy(), 1)[0] / 2**20
        assert growth[det][2] == f"{slope + 0.0:.2f}"
    assert growth[synthetic.BP][3] == f"{per_layer:.2f}"
    assert growth[synthetic.BP][4] == "1.00"  # the synthetic BP grows exactly analytically
    config = md[md.index("Configuration, as logged") :]
    assert f"- Width: {synthetic.WIDTH}; depths (hidden layers): 2, 4, 8" in config
    assert f"- Batch size: {synthetic.BATCH}; optimizer steps: {synthetic.STEPS}" in config
    steps = md_table(md, "### Time per optimizer step")
    sp = mem.groupby(["params.detector", "metrics.depth"])["metrics.step_seconds"].mean()
    for row in steps[1:]:
        depth = float(row[0])
        assert row[3] == f"{sp[(synthetic.BP, depth)] / sp[(synthetic.FF, depth)]:.2f}"


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


def test_setup_block(csv: pd.DataFrame, md: str) -> None:
    assert "- Seeds: 0, 1, 2" in md
    assert "testhost / Test CPU / cpu" in md
    assert "mlflow 3.17.2; python 3.12.1; torch 2.5.0" in md
    assert "- Hardware line: CPU (model x logical cores): Test CPU; RAM: not logged" in md
    assert "Python: 3.12.1" in md
    assert "- Git commit: abc123" in md
    assert "memray-peak-heap on cpu:" in md
    table = md_table(md, "### Datasets")
    assert table[0] == ["dataset", "protocol", "classes", "n_train", "n_test", "d", "anomaly share"]
    datasets = {r[0]: r for r in table[1:]}
    assert datasets["toy_b"][2:5] == ["2", "103", "400"]
    for ds, row in datasets.items():
        g = csv[csv["params.dataset"] == ds]
        share = g.groupby("params.normal_class")["metrics.anomaly_ratio"].mean().mean()
        assert row[6] == ("—" if math.isnan(share) else f"{share:.3f}")  # memory: none
        assert row[5] == "—"  # the synthetic runs log no input dimension


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
    n_memory = 2 * len(synthetic.DEPTHS) * len(synthetic.MEMORY_SEEDS)
    assert (full["status"] != "SKIPPED").sum() == n_trials + n_memory
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


def test_analytic_growth_counts_adams_state_for_both_rules():
    """Under Adam every layer keeps two state tensors per weight whatever the rule: FF's
    analytic growth is that state alone, BP's adds it to the gradient and saved activation."""
    from reports.analysis.memory import analytic_memory, analytic_per_layer

    w, b, mib = 1024, 512, 2**20
    assert analytic_per_layer("ff", w, b) == 0
    assert analytic_per_layer("ff", w, b, state_tensors=2) == 8 * mib
    assert analytic_per_layer("bp", w, b, state_tensors=2) == (8 + 4 + 2) * mib
    assert analytic_per_layer("ref", w, b, state_tensors=2) == 0  # the untrained control
    sweep = pd.DataFrame(
        {
            "family": ["ff", "ff", "bp", "bp"],
            "width": [w] * 4,
            "batch_size": [b] * 4,
            "depth": [2, 4, 2, 4],
            "peak_train_mem_bytes": [36 * mib, 52 * mib, 42 * mib, 70 * mib],
        }
    )
    lines = analytic_memory(sweep, state_tensors=2).set_index(["family", "depth"])
    assert lines.loc[("ff", 4), "analytic_bytes"] == 36 * mib + 2 * 8 * mib
    assert lines.loc[("bp", 4), "analytic_bytes"] == 42 * mib + 2 * 14 * mib
