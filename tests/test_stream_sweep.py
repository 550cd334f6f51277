"""A stream sweep through the CLI into a temporary MLflow store: every run's record, the
windowed AUROC as step metrics, the scores artifact in stream order, a failing streaming
detector becoming a FAILED run while the others finish."""


import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from baselines.streaming import RIVER_DEFAULTS, RIVER_MODELS, signature_defaults
from bench.cli import main
from bench.prequential import windowed_auroc
from core import schema
from core.metrics import auroc
from datasets import load_split
from reports.report import build_report

DATASET, SCENARIO = "stream-drift-digits", "0-1"
FF, BP = "ff-online-hb-svdd-mlp", "bp-online-hb-svdd-mlp"
SELECTION = ["-d", FF, "-d", BP, "-d", "river-loda", "--dataset", DATASET,
             "--seeds", "1", "--no-progress", "--experiment", "stream-e2e"]
STREAM_METRICS = [
    schema.METRIC_AUROC, schema.METRIC_AUPRC, schema.METRIC_FIT_SECONDS,
    schema.METRIC_SCORE_SECONDS, schema.METRIC_PEAK_TRAIN_MEM, schema.METRIC_N_TEST,
    schema.METRIC_STREAM_SCORE_PER_SAMPLE, schema.METRIC_STREAM_UPDATE_PER_SAMPLE,
    schema.METRIC_STREAM_THROUGHPUT, schema.METRIC_STREAM_SECONDS, schema.METRIC_STREAM_N_WARMUP,
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, crashers):
    uri = f"sqlite:///{tmp_path_factory.mktemp('store')}/mlflow.db"
    code = main(["run", *SELECTION, "--include", crashers, "-d", "test-stream-crash",
                 "--tracking-uri", uri])  # fmt: skip
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("stream-e2e")
    runs = [r for r in client.search_runs([exp.experiment_id])
            if schema.TAG_TRIAL_HASH in r.data.tags]
    return uri, code, runs


def test_a_raising_streaming_detector_fails_and_the_sweep_goes_on(sweep):
    _, code, runs = sweep
    assert code == 1
    status = pd.Series([(r.data.params["detector"], r.info.status) for r in runs]).value_counts()
    for detector in (FF, BP, "river-loda"):
        assert status[(detector, "FINISHED")] == 5  # the five drift scenarios
    assert status[("test-stream-crash", "FAILED")] == 5
    crash = next(r for r in runs if r.info.status == "FAILED")
    assert "deliberate failure in the third batch" in crash.data.tags[schema.TAG_ERROR]


def test_stream_runs_record_the_prequential_metrics_and_scores(sweep, tmp_path):
    uri, _, runs = sweep
    client = MlflowClient(uri)
    stream = load_split(DATASET, SCENARIO, 0)
    finished = [r for r in runs if r.info.status == "FINISHED"]
    for run in (r for r in finished if r.data.params["normal_class"] == SCENARIO):
        metrics = run.data.metrics
        assert set(STREAM_METRICS) <= set(metrics), set(STREAM_METRICS) - set(metrics)
        assert run.data.params["hp.batch_size"] == "16" and run.data.params["hp.warmup"] == "32"
        assert run.data.tags[schema.TAG_DATA_PROTOCOL] == "stream-drift"
        path = client.download_artifacts(run.info.run_id, schema.ARTIFACT_SCORES, str(tmp_path))
        table = pd.read_csv(path)
        assert list(table["index"]) == list(range(32, len(stream)))  # stream order
        assert np.array_equal(table["label"], stream.y[32:])
        assert np.array_equal(table["source_row"], stream.index[32:])
        assert metrics["auroc"] == pytest.approx(auroc(table["label"], table["score"]))
        assert metrics[schema.METRIC_N_TEST] == len(table)
        history = client.get_metric_history(run.info.run_id, schema.METRIC_STREAM_AUROC_WINDOW)
        expected = windowed_auroc(table["label"].to_numpy(), table["score"].to_numpy())
        assert len(expected) >= 3
        assert {m.step: m.value for m in history} == pytest.approx(expected)
        prefix = schema.METRIC_STREAM_AUROC_WINDOW + "."
        flat = {int(k[len(prefix):]): v for k, v in metrics.items() if k.startswith(prefix)}
        assert flat == pytest.approx(expected)
        assert metrics[schema.METRIC_STREAM_DRIFT_AT] == np.argmax(stream.segment[32:] == 1)


def test_the_report_has_the_stream_section_recomputable_from_results(sweep, tmp_path):
    uri, _, _ = sweep
    path = build_report(["stream-e2e"], uri, tmp_path, log=False)
    text = path.read_text()
    assert "## Online (streaming) protocol" in text
    assert (tmp_path / "figures" / "stream_drift_auroc.png").exists()
    results = pd.read_csv(tmp_path / "results.csv")
    ok = results[(results["status"] == "FINISHED") & results["params.detector"].notna()]
    auroc = ok.groupby(["params.detector", "params.normal_class"])["metrics.auroc"].mean()
    ff_mean = auroc[FF].mean()  # one seed: the scenario mean is the cell
    assert f"| {DATASET} | {ff_mean:.3f}" in text.replace("**", "")
    diff = (auroc[FF] - auroc[BP]).median()
    row = next(line for line in text.splitlines() if line.startswith(f"| {FF} − {BP}"))
    assert row.split(" | ")[1:3] == ["5", f"{diff:.3f}"]
    assert f"| {FF} |" in text and "samples/s" in text


def test_river_defaults_are_rivers_own():
    for name in RIVER_MODELS:
        assert signature_defaults(name) == RIVER_DEFAULTS[name]
