"""The trade-off study: its suite plan, and every number of its report section recomputed by
hand from a small synthetic run table."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import subprocess
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from synthetic_runs import trial_row

from bench.plan import plan_sweep
from bench.suites import (
    SUITES,
    TRADEOFF_BATCH,
    TRADEOFF_CELLS,
    TRADEOFF_DEPTHS,
    TRADEOFF_DROPPED,
    TRADEOFF_STEPS,
    TRADEOFF_WIDTHS,
)
from core import schema
from reports.analysis import tradeoff
from reports.analysis.runs import read_results
from reports.render import figures
from reports.report import write_report
from reports.sections import tradeoff_tables
from reports.sections.tradeoff import summary

OBJ = "hb-svdd"
FAMILY = {"ff": "ff", "bp": "bp", "bp-ckpt": "bp", "bpl": "bpl", "untrained": "ref"}
BLOCKS = [("digits", c) for c in range(5)] + [("adbench-mnist", 0)]
SEEDS = [0, 1]
DEPTHS, WIDTHS = [2, 16], [64, 1024]
MIB = 2**20


def _row(prefix, dataset, cls, seed, depth, width, auroc, mem) -> dict:
    det = f"{prefix}-{OBJ}-mlp"
    run_id = f"{det}-{dataset}-{cls}-{seed}-{depth}-{width}"
    return {
        **trial_row("bench-tradeoff", run_id, det, dataset, cls, seed),
        "params.hp.batch_size": "128",
        "params.hp.max_steps": "64" if prefix != "untrained" else None,
        "tags.bench.family": FAMILY[prefix],
        "tags.bench.objective": OBJ,
        "tags.bench.arch": "mlp",
        "tags.bench.suite": "tradeoff",
        "tags.bench.memory_meter": "malloc-peak-heap",
        f"tags.{schema.TAG_DETECTOR_VERSION}": "1",
        "metrics.auroc": auroc,
        "metrics.auroc.sum": auroc,
        "metrics.auroc.last": auroc - 0.01,
        "metrics.peak_train_mem_bytes": mem,
        "metrics.depth": float(depth),
        "metrics.width": float(width),
        "metrics.n_params": float(64 * width + (depth - 1) * width * width),
        "metrics.n_steps": 64.0 if prefix != "untrained" else None,
    }


def _runs(rng: np.random.Generator) -> pd.DataFrame:
    """FF flat in memory, twins growing with depth x width²; FF loses accuracy only at the
    largest cell; seeds and blocks noisy; one failed run that must not count."""
    rows = []
    for prefix in FAMILY:
        for depth in DEPTHS:
            for width in WIDTHS:
                big = depth == 16 and width == 1024
                for dataset, cls in BLOCKS:
                    for seed in SEEDS:
                        base = 0.8 - (0.1 if prefix == "ff" and big else 0.0)
                        base -= 0.3 if prefix == "untrained" else 0.0
                        auroc = float(np.clip(base + rng.normal(0, 0.03), 0, 1))
                        grows = prefix in ("bp", "bp-ckpt", "bpl")
                        mem = 1 + (depth * width * width * 12 if grows else width * width * 12)
                        mem *= 0.7 if prefix == "bp-ckpt" else 1.0  # checkpointing saves some
                        mem = float(mem * (1 + 0.01 * seed) + rng.integers(0, 4096))
                        if prefix == "untrained":
                            mem = float(rng.integers(2**20, 2**21))
                        rows.append(_row(prefix, dataset, cls, seed, depth, width, auroc, mem))
    bad = _row("ff", "digits", 0, 0, 2, 64, 0.0, 1.0)
    rows.append({**bad, "run_id": "failed", "status": "FAILED"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return _runs(np.random.default_rng(3))


def _finished(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "FINISHED"]


def _per_seed(runs: pd.DataFrame, det: str, dataset: str, depth: int, width: int, col: str):
    f = _finished(runs)
    f = f[
        (f["params.detector"] == det)
        & (f["params.dataset"] == dataset)
        & (f["metrics.depth"] == depth)
        & (f["metrics.width"] == width)
    ]
    return f.groupby("params.seed")[col].mean()  # one run per trial: classes averaged


def test_cells_recompute_by_hand(runs):
    c = tradeoff.cells(tradeoff.trade_runs(runs))
    assert len(c) == len(FAMILY) * len(DEPTHS) * len(WIDTHS) * 2  # two datasets
    for _, r in c.iterrows():
        for value in ("auroc", "peak_train_mem_bytes"):
            s = _per_seed(
                runs, r["detector"], r["dataset"], r["depth"], r["width"], f"metrics.{value}"
            )
            assert r[f"{value}_mean"] == pytest.approx(s.mean())
            assert r[f"{value}_std"] == pytest.approx(s.std(ddof=1))
        assert r["n_seeds"] == len(SEEDS)


def _blocks(runs, det, depth, width, col):
    f = _finished(runs)
    f = f[
        (f["params.detector"] == det)
        & (f["metrics.depth"] == depth)
        & (f["metrics.width"] == width)
    ]
    return f.groupby(["params.dataset", "params.normal_class"])[col].mean()


def _holm(p):
    p = np.asarray(p)
    order = np.argsort(p)
    out, running = np.empty(len(p)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_comparisons_recompute_by_hand(runs):
    comps = tradeoff.compare(tradeoff.trade_runs(runs))
    assert len(comps) == len(DEPTHS) * len(WIDTHS) * 3  # FF against bp, bp-ckpt, bpl per cell
    raw = []
    for c in comps:
        ff, twin = f"ff-{OBJ}-mlp", f"{c.twin}-{OBJ}-mlp"
        a = _blocks(runs, ff, c.depth, c.width, "metrics.auroc")
        b = _blocks(runs, twin, c.depth, c.width, "metrics.auroc")
        diff = (a - b).to_numpy()
        assert c.result.n == len(BLOCKS)
        assert c.result.median_diff == pytest.approx(np.median(diff))
        p = sps.wilcoxon(diff, method="exact").pvalue
        assert c.result.p == pytest.approx(p)
        raw.append(p)
        mem_ff = _blocks(runs, ff, c.depth, c.width, "metrics.peak_train_mem_bytes").mean()
        mem_twin = _blocks(runs, twin, c.depth, c.width, "metrics.peak_train_mem_bytes").mean()
        assert c.memory_ratio == pytest.approx(mem_twin / mem_ff)
        assert c.memory_saved == pytest.approx(mem_twin - mem_ff)
        assert c.ff_auroc == pytest.approx(a.mean()) and c.twin_auroc == pytest.approx(b.mean())
    assert [c.p_holm for c in comps] == pytest.approx(list(_holm(raw)))


def test_summary_names_the_largest_cell_and_where_ff_costs_accuracy(runs):
    comps = tradeoff.compare(tradeoff.trade_runs(runs))
    lines = summary(comps)
    top = [c for c in comps if c.depth == 16 and c.width == 1024]
    first = lines[0]
    assert first.startswith(f"- {OBJ}-mlp, at depth 16, width 1024:")
    for c in top:
        assert f"FF uses 1/{c.memory_ratio:.1f} of {c.twin}'s" in first
        assert f"{round(c.result.median_diff, 3) + 0.0:+.3f}".replace("-", "−") in first
    # every 6 blocks lose 0.1 at the largest cell: the only cell where FF costs accuracy
    # can be significant only if Holm allows it; the counts add up either way
    for twin in ("bp", "bp-ckpt", "bpl"):
        line = next(ln for ln in lines if f"against {twin}: of" in ln)
        mine = [c for c in comps if c.twin == twin]
        n_cost = sum(c.costs_accuracy for c in mine)
        n_gain = sum(c.gains_accuracy for c in mine)
        assert f"less accurate in {n_cost} " in line and f"more accurate in {n_gain} " in line
        assert f"different in {len(mine) - n_cost - n_gain};" in line
        below = sum(c.memory_ratio > 1 for c in mine)
        assert f"below {twin}'s in {below} of {len(mine)} cells" in line


def test_table_cells_recompute(runs):
    c = tradeoff.cells(tradeoff.trade_runs(runs))
    c["n_params"] = np.nan
    md, tex = tradeoff_tables.cell_table(c, "digits", OBJ, "mlp")
    assert md.header[:2] == ["depth", "width"] and "AUROC ff" in md.header
    assert len(md.rows) == len(DEPTHS) * len(WIDTHS)
    j_auroc, j_mem = md.header.index("AUROC bp"), md.header.index("MiB bp")
    for row in md.rows:
        depth, width = int(row[0]), int(row[1])
        s = _per_seed(runs, f"bp-{OBJ}-mlp", "digits", depth, width, "metrics.auroc")
        assert row[j_auroc] == f"{s.mean():.3f} ± {s.std(ddof=1):.3f}"
        m = _per_seed(runs, f"bp-{OBJ}-mlp", "digits", depth, width, "metrics.peak_train_mem_bytes")
        shown = float(row[j_mem].split(" ± ")[0])
        assert shown == pytest.approx(m.mean() / MIB, rel=5e-3, abs=5e-3)
    # a column of a 10 pt two-column article, or the text width (table*) once wider
    assert tex.width_pt() <= 469.0
    assert ("table*" in tex.latex("c", "t")) == (tex.width_pt() > 229.5)
    narrow = c[~c["detector"].str.startswith("bp-ckpt")]
    assert cell_table_width(narrow) <= 229.5  # without the memory twins: one column


def cell_table_width(c: pd.DataFrame) -> float:
    return tradeoff_tables.cell_table(c, "digits", OBJ, "mlp")[1].width_pt()


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("tradeoff")
    figures.OVERLAPS.clear()
    path = write_report(runs, out)
    return path.parent, dict(figures.OVERLAPS)


def test_report_section_from_results_csv(report, runs):
    out, _ = report
    text = (out / "report.md").read_text()
    assert "## Trade-off study" in text
    assert "64 optimizer steps (taken: 64 in every trained run)" in text
    # the section recomputed from results.csv equals the one from the runs
    again = tradeoff.compare(tradeoff.trade_runs(read_results(out / "results.csv")))
    for line in summary(again):
        assert line in text
    for name in ("tradeoff_digits_hb_svdd_mlp", "tradeoff_adbench_mnist_hb_svdd_mlp"):
        assert (out / "tables" / f"{name}.tex").exists()
    assert (out / "tables" / "tradeoff_twins.tex").exists()


def _pdf(path):
    data = path.read_bytes()
    width = float(re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", data).group(1))
    sizes = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = m.group(1)
        with contextlib.suppress(zlib.error):
            raw = zlib.decompress(raw)
        sizes += [float(s) for s in re.findall(rb"/\S+ ([\d.]+) Tf", raw)]
    return width, sizes


def test_figures_printed_size_and_no_overlaps(report):
    out, overlaps = report
    pdfs = sorted(out.glob("figures/tradeoff_*.pdf"))
    assert [p.stem for p in pdfs] == ["tradeoff_adbench_mnist", "tradeoff_digits"]
    for p in pdfs:
        width, sizes = _pdf(p)
        assert width <= figures.TEXT_WIDTH_IN * 72 + 0.5
        assert sizes and min(sizes) >= 8 - 1e-6
        assert overlaps[p.stem] == []


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_tradeoff_tables_compile_and_fit(report):
    out, _ = report
    files = sorted(out.glob("tables/tradeoff_*.tex"))
    assert len(files) == 3
    body = "".join(rf"\input{{{f.as_posix()}}}\clearpage" + "\n" for f in files)
    doc = out / "tradeoff.tex"
    doc.write_text(
        "\\documentclass[10pt,twocolumn]{article}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,graphicx,array}\n\\begin{document}\n" + body + "\\end{document}\n"
    )
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (out / "tradeoff.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    overfull = [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(v <= 1.0 for v in overfull), overfull
    assert "Float too large" not in log
    # the twins' tests fit a column; a cell table with the memory twins spans the text
    assert "table*" not in (out / "tables" / "tradeoff_twins.tex").read_text()


def test_twin_table_splits_per_network_for_latex():
    comps = tradeoff.compare(tradeoff.trade_runs(_runs(np.random.default_rng(3))))
    other = [dataclasses.replace(c, objective="goodness") for c in comps]
    table = tradeoff_tables.comparison_table(comps + other)
    parts = tradeoff_tables.latex_parts(table)
    saved = table.header.index("MiB saved")
    by_key = {(c.objective, c.twin, c.depth, c.width): c for c in comps + other}
    for row in table.rows:
        c = by_key[(row[0].removesuffix("-mlp"), row[1], int(row[2]), int(row[3]))]
        assert float(row[saved]) == pytest.approx(c.memory_saved / 2**20, rel=0.01)
    assert [len(p.rows) for p in parts] == [len(comps), len(other)]
    assert [p.rows[0][0] for p in parts] == ["goodness-mlp", f"{OBJ}-mlp"]
    assert sum(len(p.rows) for p in parts) == len(table.rows)
    for p in parts:  # the network is in the caption, not a column; twins separated by a rule
        assert 0 in p.latex_drop and len({r[0] for r in p.rows}) == 1
        assert len(p.rules) == len({r[1] for r in p.rows}) - 1  # bp, bp-ckpt, bpl


def test_no_tradeoff_runs_no_section():
    assert tradeoff.trade_runs(pd.DataFrame({"status": []})).empty


def test_suite_plan_expands_the_grid():
    suite = SUITES.get("tradeoff")
    plan = plan_sweep(suite.detectors, ["digits"], suite, [0, 1], {})
    assert not plan.skipped
    cells = {(d, w) for d in TRADEOFF_DEPTHS for w in TRADEOFF_WIDTHS} - set(TRADEOFF_DROPPED)
    assert cells == set(TRADEOFF_CELLS) and len(cells) == 10
    assert (max(TRADEOFF_DEPTHS), max(TRADEOFF_WIDTHS)) in cells  # the largest cell stays
    assert len(suite.detectors) == 12  # ff, bp, bpl, untrained, bp-ckpt, bp-accum x 2
    # every detector, normal class and seed: one trial per (depth, width), each distinct
    assert len(plan.trials) == len(suite.detectors) * 10 * 2 * len(cells)
    assert len({t.key for t in plan.trials}) == len(plan.trials)
    for det in suite.detectors:
        mine = [t for t in plan.trials if t.detector == det and t.normal_class == 3]
        got = {(len(t.hparams["widths"]), t.hparams["widths"][0]) for t in mine}
        assert got == cells and len(mine) == 2 * len(cells)
        for t in mine:
            assert len(set(t.hparams["widths"])) == 1
            assert t.hparams["batch_size"] == TRADEOFF_BATCH
            if det.startswith("untrained"):
                assert "max_steps" not in t.hparams and "epochs" not in t.hparams
            else:  # the same step budget everywhere: the cap binds before the epochs end
                assert t.hparams["max_steps"] == TRADEOFF_STEPS
                assert t.hparams["epochs"] >= TRADEOFF_STEPS


def test_image_suite_plans_the_cnn_at_two_depths():
    suite = SUITES.get("tradeoff-images")
    plan = plan_sweep(suite.detectors, ["mnist"], suite, [0], {})
    assert {t.detector for t in plan.trials} == set(suite.detectors)
    per = [t for t in plan.trials if t.detector == "ff-hb-svdd-cnn" and t.normal_class == 0]
    assert sorted(len(t.hparams["channels"]) for t in per) == [2, 3]
    # on tabular data the CNN is skipped, not failed
    skipped = plan_sweep(suite.detectors, ["digits"], suite, [0], {}).skipped
    assert len(skipped) == len(suite.detectors) and all(s.reason for s in skipped)


def test_cnn_runs_take_depth_and_width_from_their_channels():
    rows = []
    for channels in ("[8, 4]", "[32, 64, 128]"):
        row = _row("ff", "mnist", 0, 0, 2, 64, 0.7, 2.0**20)
        del row["metrics.depth"], row["metrics.width"]
        row.update(
            {
                "run_id": channels,
                "params.detector": f"ff-{OBJ}-cnn",
                "tags.bench.arch": "cnn",
                "tags.bench.suite": "tradeoff-images",
                "params.hp.channels": channels,
            }
        )
        rows.append(row)
    t = tradeoff.trade_runs(pd.DataFrame(rows))
    assert sorted(zip(t["depth"], t["width"], strict=True)) == [(3, 8), (4, 128)]


def test_memory_of_an_older_meter_version_is_left_out(runs: pd.DataFrame) -> None:
    from reports.analysis import frames

    new = runs.assign(**{f"tags.{schema.TAG_METER_VERSION}": str(schema.METER_VERSION)})
    new["run_id"] = new["run_id"] + "-new"
    new["metrics.peak_train_mem_bytes"] *= 3
    s = frames.simple(pd.concat([runs, new], ignore_index=True))
    assert s["peak_train_mem_bytes"].iloc[: len(runs)].isna().all()
    assert s["peak_train_mem_bytes"].iloc[len(runs) :].tolist() == pytest.approx(
        new["metrics.peak_train_mem_bytes"].tolist()
    )
    assert s["auroc"].notna().sum() == 2 * len(runs)  # accuracy does not depend on the meter
    assert frames.simple(runs)["peak_train_mem_bytes"].notna().all()  # one version: all kept
