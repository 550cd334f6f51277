"""Paper layout: every generated .tex compiles in a two-column 10 pt article and fits its
column; every figure is drawn at printed size with text of at least 8 pt and no overlaps.

Checked on a paper-scale sweep (``synthetic.wide_runs``: 20 detectors in five families, ten
datasets in two suites, long names) and on a report of the memory study alone.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pandas as pd
import pytest
import synthetic_runs as synthetic  # pytest puts tests/ on sys.path

import reports
from reports.render import figures

COLUMN_IN, TEXT_IN = 3.5, 7.1  # limits; figures are drawn at 3.3 in and 7.1 in
PAGE_HEIGHT_IN = 8.0
FULL_WIDTH = ("cd_diagram", "memory_frontier")  # allowed the text width: long names, panels
PREAMBLE = r"""\documentclass[10pt,twocolumn]{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs,graphicx,array}
\begin{document}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layout")
    runs = synthetic.wide_runs()
    figures.OVERLAPS.clear()
    wide = reports.write_report(runs, root / "wide").parent
    overlaps_wide = dict(figures.OVERLAPS)
    memory = runs[runs["tags.bench.suite"] == "memory"]
    mem = reports.write_report(memory, root / "memory").parent
    return {"wide": wide, "memory": mem, "root": root, "overlaps": overlaps_wide | figures.OVERLAPS}


def test_paper_scale_report_writes_split_tables(built: dict) -> None:
    tex = (built["wide"] / "tables" / "auroc.tex").read_text()
    # two suites: embedded's 3 datasets fit a column; adbench's 7 need the text width
    assert tex.count(r"\begin{table}") == 1 and tex.count(r"\begin{table*}") == 1
    assert tex.index(r"\begin{table*}") < tex.index(r"\begin{table}")  # adbench sorts first
    assert "suite adbench" in tex and "suite embedded" in tex
    hp = (built["wide"] / "tables" / "hyperparameters.tex").read_text()
    assert "random" not in hp and "n\\_features" not in hp and "lr=0.001" in hp


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_every_table_compiles_and_fits_its_column(built: dict) -> None:
    files = sorted(built["wide"].glob("tables/*.tex")) + sorted(
        built["memory"].glob("tables/*.tex")
    )
    assert len(files) >= 12
    body = "".join(rf"\input{{{f.as_posix()}}}\clearpage" + "\n" for f in files)
    doc = built["root"] / "all.tex"
    doc.write_text(PREAMBLE + body + "\\end{document}\n")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=doc.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (doc.parent / "all.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    overfull = [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(v <= 1.0 for v in overfull), [
        ln for ln in log.splitlines() if ln.startswith("Overfull")
    ]
    assert "Float too large" not in log


def _pdf(path: Path) -> tuple[float, list[float]]:
    """Page width (pt) and every font size set in the content streams (``/F 8 Tf``)."""
    width, _ = _page(path)
    data = path.read_bytes()
    sizes = []
    # matplotlib ends lines with "\n" only; a compressed stream may itself end in "\r"
    for m in re.finditer(rb"stream\n(.*?)\nendstream", data, re.S):
        raw = m.group(1)
        with contextlib.suppress(zlib.error):
            raw = zlib.decompressobj().decompress(raw)
        sizes += [float(s) for s in re.findall(rb"/\S+ ([\d.]+) Tf", raw)]
    return width, sizes


def _page(path: Path) -> tuple[float, float]:
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", path.read_bytes())
    return float(box.group(1)), float(box.group(2))


def test_figures_at_printed_size_with_8pt_text(built: dict) -> None:
    pdfs = sorted(built["wide"].glob("figures/*.pdf")) + sorted(
        built["memory"].glob("figures/*.pdf")
    )
    names = {p.stem for p in pdfs}
    assert {"memory_vs_auroc", "fit_time_vs_auroc", "auroc_distributions"} <= names
    assert {"memory_vs_depth", "step_time_vs_depth"} <= names
    for p in pdfs:
        width, sizes = _pdf(p)
        limit = TEXT_IN if p.stem.startswith(FULL_WIDTH) else COLUMN_IN
        assert width <= limit * 72 + 0.5, (p.name, width / 72)
        assert _page(p)[1] <= PAGE_HEIGHT_IN * 72, p.name  # 20 detectors still fit a page
        assert sizes, p.name  # text is set in the PDF, not drawn as paths
        assert min(sizes) >= 8 - 1e-6, (p.name, min(sizes))


def test_no_overlapping_text(built: dict) -> None:
    assert built["overlaps"]
    assert {k: v for k, v in built["overlaps"].items() if v} == {}


def test_memory_only_report_is_complete(built: dict) -> None:
    text = (built["memory"] / "report.md").read_text()
    assert "No finished run logged auroc" not in text
    assert "No FF detector has finished runs" not in text
    assert "holds only the `memory` suite" in text
    config = text[text.index("Configuration, as logged") :]
    assert "- Width: 1024; depths (hidden layers): 2, 4, 8, 16, 32" in config
    assert "- Batch size: 512; optimizer steps: 8; optimizer: sgd" in config
    assert "malloc-peak-heap" in config
    detectors = text[text.index("### Detectors") :]
    assert "| ff-hb-svdd-mlp | ff |" in detectors  # the detector table is not empty
    for heading in ["bp-hb-svdd-mlp / ff-hb-svdd-mlp", "measured MiB/layer", "### Time per"]:
        assert heading in text
    assert (built["memory"] / "figures" / "step_time_vs_depth.pdf").exists()
    tables = built["memory"] / "tables"
    assert (tables / "memory_growth.tex").exists()
    for core in ("hb-svdd-mlp", "goodness-mlp"):  # one table per FF detector and its twins
        for name in ("memory_depth", "step_time", "frontier"):
            assert (tables / f"{name}_{core}.tex").exists(), (name, core)
    assert (built["memory"] / "figures" / "memory_frontier.pdf").exists()


def test_memory_tables_recompute(built: dict) -> None:
    """Ratio, growth and step-time cells recomputed from results.csv."""
    import numpy as np

    csv = reports.read_results(built["memory"] / "results.csv")
    csv = csv[csv["tags.bench.suite"] == "memory"]
    per_seed = csv.groupby(["params.detector", "metrics.depth", "params.seed"])[
        ["metrics.peak_train_mem_bytes", "metrics.step_seconds"]
    ].mean()
    mean = per_seed.groupby(["params.detector", "metrics.depth"]).mean()
    text = (built["memory"] / "report.md").read_text()
    text = text[text.index("Mean ± std over seeds (seeds averaged first) of peak") :]
    mem = _md_rows(text, "#### ff-hb-svdd-mlp")  # FF's own table, with its twins
    header = mem[0]
    for row in mem[1:]:
        depth = float(row[0])
        ff = mean.loc[("ff-hb-svdd-mlp", depth), "metrics.peak_train_mem_bytes"]
        bp = mean.loc[("bp-hb-svdd-mlp", depth), "metrics.peak_train_mem_bytes"]
        got = row[header.index("bp-hb-svdd-mlp / ff-hb-svdd-mlp")]
        assert got == f"{bp / ff:.2f}"
    growth = {r[0]: r for r in _md_rows(text, "Growth per added hidden layer")[1:]}
    for det in ("ff-hb-svdd-mlp", "bp-hb-svdd-mlp"):
        m = mean.loc[det]
        slope = np.polyfit(m.index.to_numpy(float), m["metrics.peak_train_mem_bytes"], 1)[0]
        assert growth[det][2] == f"{slope / 2**20:.2f}"
    # analytic BP: weight gradient + one batch x width activation, 4-byte floats
    assert growth["bp-hb-svdd-mlp"][3] == f"{(1024 * 1024 + 512 * 1024) * 4 / 2**20:.2f}"
    assert growth["ff-hb-svdd-mlp"][3] == "0.00"
    steps = _md_rows(text[text.index("Fit seconds / optimizer steps") :], "#### ff-goodness-mlp")
    for row in steps[1:]:
        depth = float(row[0])
        ff = mean.loc[("ff-goodness-mlp", depth), "metrics.step_seconds"]
        bp = mean.loc[("bp-goodness-mlp", depth), "metrics.step_seconds"]
        assert row[steps[0].index("bp-goodness-mlp / ff-goodness-mlp")] == f"{bp / ff:.2f}"


def test_memory_frontier_recomputes(built: dict) -> None:
    """Per depth: least memory, the cheapest backprop twin with its ratios over FF, and the
    Pareto front in memory and step time, recomputed from results.csv."""
    csv = reports.read_results(built["memory"] / "results.csv")
    csv = csv[(csv["tags.bench.suite"] == "memory") & (csv["tags.bench.family"] != "ref")]
    csv = csv[csv["params.detector"].str.contains("hb-svdd")]
    per_seed = csv.groupby(["params.detector", "metrics.depth", "params.seed"])[
        ["metrics.peak_train_mem_bytes", "metrics.step_seconds"]
    ].mean()
    mean = per_seed.groupby(["params.detector", "metrics.depth"]).mean()
    text = (built["memory"] / "report.md").read_text()
    table = _md_rows(text[text.index("### The frontier") :], "#### ff-hb-svdd-mlp")
    assert table[0][:3] == ["depth", "least memory (MiB)", "cheapest backprop twin"]
    for row in table[1:]:
        at = mean.xs(float(row[0]), level="metrics.depth")
        mem, step = at["metrics.peak_train_mem_bytes"], at["metrics.step_seconds"]
        short = {d: d.replace("-hb-svdd-mlp", "") for d in at.index}
        assert row[1].startswith(short[mem.idxmin()] + " (")
        twin = mem.drop("ff-hb-svdd-mlp").idxmin()
        assert row[2] == short[twin]
        assert row[3] == f"{mem[twin] / mem['ff-hb-svdd-mlp']:.2f}"
        assert row[4] == f"{step[twin] / step['ff-hb-svdd-mlp']:.2f}"
        front = [
            d
            for d in mem.sort_values().index
            if not ((mem <= mem[d]) & (step <= step[d]) & ((mem < mem[d]) | (step < step[d]))).any()
        ]
        assert row[5] == ", ".join(short[d] for d in front)


def _md_rows(text: str, after: str) -> list[list[str]]:
    lines = text[text.index(after) :].splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        if not ln.startswith("|---"):
            rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def test_results_csv_round_trips(built: dict) -> None:
    csv = pd.read_csv(built["wide"] / "results.csv")
    assert len(csv) == len(synthetic.wide_runs())


def test_overlap_check_sees_overlaps_and_clipping() -> None:
    """The no-overlap test above is only as good as this detector of overlaps."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.3, 2))
    fig.text(0.5, 0.5, "first label")
    fig.text(0.52, 0.5, "second label")
    fig.text(0.98, 0.1, "runs off the page")
    found = figures.text_overlaps(fig)
    assert ("first label", "second label") in found
    assert ("runs off the page", "outside the figure") in found
    fig = Figure(figsize=(3.3, 2))
    fig.text(0.1, 0.2, "apart")
    fig.text(0.1, 0.7, "apart too")
    assert figures.text_overlaps(fig) == []


def test_a_table_wider_than_the_column_spans_both() -> None:
    from reports.render.table import COLUMN_PT, Table

    narrow = Table(["detector", "AUROC"], [["ff-hb-svdd-mlp", "0.912"]])
    wide = Table(["detector", *(f"dataset-{i}" for i in range(12))], [["x", *["0.912"] * 12]])
    assert narrow.width_pt() < COLUMN_PT < wide.width_pt()
    assert r"\begin{table}[t]" in narrow.latex("c", "l")
    assert r"\begin{table*}[t]" in wide.latex("c", "l")
