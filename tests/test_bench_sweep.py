"""End to end: sweeps through the CLI into a temporary MLflow store."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score
from test_datasets_images import _write_mnist_like

from bench import allocmeter
from bench.cli import main
from bench.meters import MALLOC, MEMRAY
from core import schema

SELECTION = ["-d", "pyod-knn", "-d", "ff-hb-svdd-mlp", "--dataset", "wine", "--seeds", "1",
             "--param", "epochs=3", "--no-progress", "--experiment", "e2e"]
REQUIRED_TAGS = [
    schema.TAG_TRIAL_HASH, schema.TAG_FAMILY, schema.TAG_TWIN, schema.TAG_OBJECTIVE,
    schema.TAG_ARCH, schema.TAG_VERSION, schema.TAG_DEVICE, schema.TAG_MEMORY_METER,
    schema.TAG_DATA_PROTOCOL, schema.TAG_DATA_SHA256, "version.torch", "version.pyod",
    "version.mlflow", schema.TAG_OS, schema.TAG_RAM, schema.TAG_THREADS, schema.TAG_WORKERS,
]
REQUIRED_METRICS = [
    schema.METRIC_AUROC, schema.METRIC_AUPRC, schema.METRIC_FIT_SECONDS,
    schema.METRIC_SCORE_SECONDS, schema.METRIC_PEAK_TRAIN_MEM, schema.METRIC_PEAK_RSS,
    schema.METRIC_N_TRAIN, schema.METRIC_N_TEST, schema.METRIC_ANOMALY_RATIO,
    schema.METRIC_N_FEATURES,
]

EXPECTED_METER = MALLOC if allocmeter.library() else MEMRAY
FAST_PYOD = ["pyod-knn", "pyod-lof", "pyod-hbos", "pyod-pca", "pyod-ecod"]


def _runs(uri: str, experiment: str) -> list:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return [r for r in client.search_runs([exp.experiment_id], max_results=1000)
            if schema.TAG_TRIAL_HASH in r.data.tags]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, crashers):
    """One sweep with a deliberately failing detector, then the same selection again."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store')}/mlflow.db"
    first = main(["run", *SELECTION, "--include", crashers, "-d", "test-crash",
                  "--tracking-uri", uri])  # fmt: skip
    before = _runs(uri, "e2e")
    second = main(["run", *SELECTION, "--tracking-uri", uri])
    return uri, first, before, second


def test_failing_detector_fails_its_runs_and_the_others_finish(sweep):
    uri, first, runs, _ = sweep
    assert first == 1
    status = pd.Series([(r.data.params["detector"], r.info.status) for r in runs]).value_counts()
    assert status[("pyod-knn", "FINISHED")] == 3
    assert status[("ff-hb-svdd-mlp", "FINISHED")] == 3
    assert status[("test-crash", "FAILED")] == 3
    failed = next(r for r in runs if r.info.status == "FAILED")
    assert "deliberate failure" in failed.data.tags[schema.TAG_ERROR]
    tb = Path(MlflowClient(uri).download_artifacts(failed.info.run_id, schema.ARTIFACT_TRACEBACK))
    assert "RuntimeError" in tb.read_text()


def test_finished_runs_carry_the_whole_record(sweep, tmp_path):
    uri, _, runs, _ = sweep
    client = MlflowClient(uri)
    for run in (r for r in runs if r.info.status == "FINISHED"):
        data = run.data
        trial = data.params
        assert run.info.run_name == (
            f"{trial['detector']}/{trial['dataset']}/{trial['normal_class']}/s{trial['seed']}"
        )
        assert any(k.startswith(schema.HPARAM_PREFIX) for k in data.params)
        assert set(REQUIRED_TAGS) <= set(data.tags), set(REQUIRED_TAGS) - set(data.tags)
        assert set(REQUIRED_METRICS) <= set(data.metrics)
        assert data.metrics[schema.METRIC_PEAK_TRAIN_MEM] > 0
        assert data.metrics[schema.METRIC_N_FEATURES] == 13  # wine
        assert int(data.tags[schema.TAG_RAM]) > 2**30
        assert data.tags[schema.TAG_MEMORY_METER] == EXPECTED_METER
        path = client.download_artifacts(run.info.run_id, schema.ARTIFACT_SCORES, str(tmp_path))
        scores = pd.read_csv(path)
        assert len(scores) == data.metrics[schema.METRIC_N_TEST]
        recomputed = roc_auc_score(scores["label"], scores["score"])
        assert recomputed == pytest.approx(data.metrics[schema.METRIC_AUROC], abs=1e-9)
        if trial["detector"] != "ff-hb-svdd-mlp":
            assert list(scores.columns) == ["index", "label", "score"]
            continue
        # every rule, one network
        rules = ["last", "sum", "zsum", "rank", "rankmax", "layer1", "layer2", "layer3"]
        assert list(scores.columns) == ["index", "label", "score", *(f"score.{r}" for r in rules)]
        assert scores["score"].equals(scores["score.sum"])  # FF's declared rule
        for rule in rules:
            for metric in (schema.METRIC_AUROC, schema.METRIC_AUPRC):
                assert f"{metric}.{rule}" in data.metrics
            recomputed = roc_auc_score(scores["label"], scores[f"score.{rule}"])
            assert recomputed == pytest.approx(data.metrics[f"auroc.{rule}"], abs=1e-9)
        assert data.metrics["train_seconds"] + data.metrics["calibrate_seconds"] <= (
            data.metrics[schema.METRIC_FIT_SECONDS] + 1e-6
        )
        assert data.params["hp.epochs"] == "3"
        for k in (1, 2, 3):  # training curves as step metrics, one step per epoch
            curve = client.get_metric_history(run.info.run_id, f"train_loss.layer{k}")
            assert sorted(m.step for m in curve) == [0, 1, 2]
            assert 0 <= data.metrics[f"centre_eps_share.layer{k}"] <= 1
        assert data.tags[schema.TAG_COLLAPSED] == ""
        assert data.tags[schema.TAG_TWIN] == "bp-hb-svdd-mlp"
        assert data.tags[schema.TAG_DETECTOR_VERSION] == "3"
        assert data.metrics[schema.METRIC_N_PARAMS] > 0


def test_second_run_of_the_same_selection_starts_nothing(sweep):
    uri, _, before, second = sweep
    assert second == 0
    assert len(_runs(uri, "e2e")) == len(before)


@pytest.mark.slow  # tox stays under 10 minutes on 2 cores; run with -m slow
def test_same_seed_same_scores_across_sweeps(sweep, tmp_path):
    uri, *_ = sweep
    again = f"sqlite:///{tmp_path}/again.db"
    assert main(["run", *SELECTION, "--tracking-uri", again]) == 0
    old = {r.data.tags[schema.TAG_TRIAL_HASH]: r.data.metrics[schema.METRIC_AUROC]
           for r in _runs(uri, "e2e") if r.info.status == "FINISHED"}
    new = {r.data.tags[schema.TAG_TRIAL_HASH]: r.data.metrics[schema.METRIC_AUROC]
           for r in _runs(again, "e2e")}
    assert new == old


def test_unknown_detector_exits_2_with_a_suggestion(capsys):
    assert main(["run", "-d", "ff-hb-svd-mlp", "--dry-run"]) == 2
    assert "ff-hb-svdd-mlp" in capsys.readouterr().err


def test_dead_worker_is_recorded_and_the_sweep_goes_on(tmp_path, crashers):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = main(["run", "--include", crashers, "-d", "test-die", "-d", "pyod-knn", "--dataset",
                 "wine", "--seeds", "1", "--workers", "1", "--no-progress", "--tracking-uri", uri,
                 "--experiment", "die"])  # fmt: skip
    assert code == 1
    runs = _runs(uri, "die")
    died = [r for r in runs if r.data.params["detector"] == "test-die"]
    assert len(died) == 3 and all(r.info.status == "FAILED" for r in died)
    assert "exited with code 139" in died[0].data.tags[schema.TAG_ERROR]
    assert sum(r.info.status == "FINISHED" for r in runs) == 3


def test_killed_sweep_resumes_without_duplicates(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    fast = [a for name in FAST_PYOD for a in ("-d", name)]
    args = [sys.executable, "-m", "bench", "run", *fast, "--dataset", "wine",
            "--seeds", "2", "--no-progress", "--tracking-uri", uri, "--experiment", "kill"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            if len(_runs(uri, "kill")) >= 5:
                break
        except Exception:  # the store may not exist yet
            continue
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(_runs(uri, "kill"))
    assert 0 < partial < len(FAST_PYOD) * 3 * 2
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = _runs(uri, "kill")
    hashes = [r.data.tags[schema.TAG_TRIAL_HASH] for r in runs if r.info.status == "FINISHED"]
    assert len(hashes) == len(set(hashes)) == len(FAST_PYOD) * 3 * 2
    assert np.isfinite([r.data.metrics[schema.METRIC_AUROC] for r in runs
                        if r.info.status == "FINISHED"]).all()


def test_cnn_twins_run_on_image_files_through_the_harness(tmp_path):
    data_dir = tmp_path / "data"
    _write_mnist_like(data_dir, "MNIST")  # tiny IDX files read by torchvision's real MNIST
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = main(["run", "-d", "ff-hb-svdd-cnn", "-d", "bp-hb-svdd-cnn", "--dataset", "mnist",
                 "--seeds", "1", "--param", "epochs=1", "--data-dir", str(data_dir),
                 "--no-progress", "--tracking-uri", uri, "--experiment", "cnn"])
    assert code == 0
    runs = _runs(uri, "cnn")
    assert len(runs) == 2 * 10 and all(r.info.status == "FINISHED" for r in runs)
    assert {r.data.tags[schema.TAG_ARCH] for r in runs} == {"cnn"}
    assert all(r.data.params["hp.channels"] == "[8, 4]" for r in runs)
