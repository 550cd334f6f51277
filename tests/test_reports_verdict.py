"""The learning verdict and the findings that open the report, on run tables with known values."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from reports.analysis import verdict
from reports.analysis.headlines import headlines
from reports.render import document
from reports.report import write_report
from reports.sections import findings
from reports.sections.verdict import VERDICT_TITLE, delta, headline_table, sentence

LOO = "leave-one-class-out-stratified-70-30"
OVR = "one-vs-rest-stratified-70-30"
CORE = "goodness-mlp"
NETWORK_HP = {"widths": "[128, 64, 32]", "normalise": "True", "theta": "1.0"}


def runs_table(margin: float, blocks: int = 10, seeds: int = 3, ovr_margin: float = 0.0):
    """Tidy runs: FF, its twins and controls plus PyOD on a leave-one-class-out set whose
    trained networks beat the untrained control by ``margin`` (and one-vs-rest by
    ``ovr_margin``); a nonorm twin that differs from the control in ``normalise``."""
    rng = np.random.default_rng(3)
    rows = []
    sets = {"toy-loo": (LOO, margin), "toy": (OVR, ovr_margin)}
    for dataset, (protocol, gain) in sets.items():
        for k in range(blocks):
            base = 0.55 + 0.3 * rng.random()
            for seed in range(seeds):
                noise = lambda: rng.normal(0, 0.01)  # noqa: E731
                values = {
                    f"ff-{CORE}": base + gain + noise(),
                    f"bp-{CORE}": base + gain + noise(),
                    f"bpl-{CORE}-nonorm": base + gain + noise(),
                    f"untrained-{CORE}": base + noise(),
                    "ref-input-norm": base - 0.02 + noise(),
                    "pyod-knn": base + 0.1 + noise(),
                }
                for det, auroc in values.items():
                    rows.append(_row(det, dataset, protocol, str(k), seed, auroc))
    return pd.DataFrame(rows)


def _row(det: str, dataset: str, protocol: str, cls: str, seed: int, auroc: float) -> dict:
    family = det.split("-")[0]
    network = family in ("ff", "bp", "bpl", "untrained")
    rule = {"bpl": "last"}.get(family, "sum")
    hp = dict(NETWORK_HP) if network else {}
    if det.endswith("-nonorm"):
        hp["normalise"] = "False"
    row = {
        "experiment": "verdict",
        "run_id": f"{det}/{dataset}/{cls}/{seed}",
        "run_name": f"{det}/{dataset}/{cls}/s{seed}",
        "status": "FINISHED",
        "params.detector": det,
        "params.dataset": dataset,
        "params.normal_class": cls,
        "params.seed": str(seed),
        "tags.bench.family": "ref" if family == "untrained" else family,
        "tags.bench.twin": f"ff-{CORE}" if family in ("bp", "bpl", "untrained") else "",
        "tags.bench.suite": "embedded",
        "tags.bench.data.protocol": protocol,
        "tags.bench.objective": "goodness" if network else "",
        "tags.bench.arch": "mlp" if network else "",
        "metrics.auroc": auroc,
        "metrics.auprc": auroc / 2,
    }
    if det.startswith("ff-"):
        row["tags.bench.twin"] = f"bp-{CORE}"
    if network:
        row |= {"params.hp.score_layers": rule, "metrics.auroc.sum": auroc}
        row["metrics.auroc.last"] = auroc
        row |= {f"params.hp.{k}": v for k, v in hp.items()}
    return row


def _group(groups: list[verdict.Group], protocol: str) -> verdict.Group:
    (g,) = [g for g in groups if g.protocol == protocol]
    return g


def test_trained_equal_to_untrained_gives_no_evidence_of_learning():
    groups = verdict.groups(runs_table(margin=0.0))
    g = _group(groups, LOO)
    assert not g.learned()
    assert sentence(g).startswith("**no evidence of learning on embedded, " + LOO)
    assert {t.detector for t in g.tested()} == {f"ff-{CORE}", f"bp-{CORE}"}


def test_a_clear_margin_is_significant_learning_and_one_vs_rest_is_reported_as_measured():
    groups = verdict.groups(runs_table(margin=0.1))
    loo, ovr = _group(groups, LOO), _group(groups, OVR)
    assert {t.detector for t in loo.learned()} == {f"ff-{CORE}", f"bp-{CORE}"}
    assert sentence(loo).startswith("**learning on embedded, " + LOO)
    assert "Of these, 2 also beat the input norm" in sentence(loo)
    ff = next(t for t in loo.untrained if t.detector == f"ff-{CORE}")
    assert ff.control == f"untrained-{CORE}" and ff.rule == "sum"
    assert ff.result.median_diff == pytest.approx(0.1, abs=0.02)
    assert ff.p_holm < 0.05 and ff.result.ci_low > 0
    assert not ovr.learned()  # trained == untrained there: no evidence, as measured
    assert "no evidence of learning" in sentence(ovr)


def test_a_network_that_is_not_its_controls_network_has_no_untrained_control():
    g = _group(verdict.groups(runs_table(margin=0.1)), LOO)
    nonorm = next(t for t in g.untrained if t.detector == f"bpl-{CORE}-nonorm")
    assert nonorm.result is None and "normalise" in nonorm.why
    versus_norm = next(t for t in g.input_norm if t.detector == f"bpl-{CORE}-nonorm")
    assert versus_norm.significant  # the input norm is every network's control


def test_a_loss_to_the_control_is_not_learning():
    groups = verdict.groups(runs_table(margin=-0.1))
    assert not _group(groups, LOO).learned()  # one-sided: worse than untrained is no learning


def test_too_few_blocks_says_no_test_could_reach_alpha():
    g = _group(verdict.groups(runs_table(margin=0.1, blocks=2)), LOO)
    assert not g.learned()
    assert "no result could reach" in sentence(g)


NUMBER = re.compile(r"[+−-]?\d+\.\d+(?:e[+-]\d+)?")


def test_the_findings_open_the_report_and_quote_the_tables(tmp_path):
    runs = runs_table(margin=0.1)
    text = write_report(runs, tmp_path).read_text()
    top = text.split("## Setup")[0]
    head, rest = top.split(f"## {VERDICT_TITLE}")
    summary = [line for line in head.splitlines() if line.startswith("- ")]
    assert 1 <= len(summary) <= 15
    assert "|" not in head  # no table before the findings end
    tables_text = rest  # the verdict section: every table the findings link to
    for line in summary:
        numbers = NUMBER.findall(line.split("[table]")[0])
        assert numbers, line
        for n in numbers:
            assert n in tables_text, (n, line)
        anchor = re.search(r"\]\((#[^)]+)\)", line).group(1)
        titles = [document.anchor(t[4:]) for t in rest.splitlines() if t.startswith("### ")]
        assert anchor in titles, anchor
    assert any(f"learning on embedded, {LOO}" in line for line in summary)
    assert any(f"no evidence of learning on embedded, {OVR}" in line for line in summary)


def test_twin_and_pyod_numbers_of_the_summary_equal_the_headline_table():
    runs = runs_table(margin=0.1)
    g = _group(verdict.groups(runs), LOO)
    (h,) = headlines(runs, g)
    assert h.twin.other == f"bp-{CORE}" and h.pyod.other == "pyod-knn"
    assert h.pyod.result.median_diff == pytest.approx(0.0, abs=0.02)  # knn: base + 0.1
    row = headline_table([h], {t.detector for t in g.learned()}).rows[0]
    line = next(s for s in findings.summary(runs, [g], [[h]]) if "same-loss twin" in s)
    assert delta(h.twin) in line and row[4] == delta(h.twin)
    assert delta(h.pyod) in line and row[8] == delta(h.pyod)
    assert "controls beaten here" in line


def test_memory_finding_names_the_cheapest_twin_as_the_memory_table_prints_it(tmp_path):
    import synthetic_runs as synthetic  # pytest puts tests/ on sys.path

    runs = synthetic.wide_runs()
    memory = runs[runs["tags.bench.suite"] == "memory"]
    line = findings.memory_sentence(memory)
    text = write_report(memory, tmp_path).read_text()
    study = text.split("## Memory study")[1]

    def split(row: str) -> list[str]:
        return [c.strip() for c in row.strip("|").split("|")]

    for ff in ("ff-goodness-mlp", "ff-hb-svdd-mlp"):
        core = ff.removeprefix("ff-")
        table = study.split(f"#### {ff}\n")[1].splitlines()  # FF and its twins alone
        header = split(next(r for r in table if r.startswith("| depth |")))
        cells = dict(
            zip(header, split(next(r for r in table if r.startswith("| 32 |"))), strict=True)
        )
        twins = [h.split(" / ")[0] for h in header if " / " in h]
        assert f"untrained-{core}" in twins and f"bp-ckpt-{core}-each" in twins
        trained = {t: float(cells[f"{t} / {ff}"]) for t in twins if not t.startswith("untrained")}
        cheapest = min(trained, key=trained.get)
        assert cheapest == f"bp-ckpt-{core}-each"  # the synthetic runs' least-growing twin
        assert f"{ff}'s cheapest twin {cheapest} needs {cells[f'{cheapest} / {ff}']}x" in line
    assert "least ff-" in line  # FF grows 0.05 MiB a layer: least memory at depth 32
    assert line in text.split("## Setup")[0]  # it is among the findings
