"""End to end in a browser: an MLflow server over a schema store shows run names and AUROC;
over a real sweep (a plugin detector and a grid) each experiment opens on its runs table and
the Datasets column shows which split every run used (a screenshot is kept)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from bench.tracking.view import EXPERIMENT_KIND, TAG_EXPERIMENT_KIND, experiment_tags, ui_url
from core import schema

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPERIMENT = "browser"
RUNS = {  # detector -> (family, AUROC); binary fractions print exactly
    "ff-hb-svdd-mlp": ("ff", 0.8125),
    "bp-hb-svdd-mlp": ("bp", 0.75),
    "pyod-iforest": ("pyod", 0.6875),
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs python playwright")


def _write_store(uri: str, artifacts: Path) -> tuple[str, dict[str, str]]:
    """One run per detector on one trial; returns the experiment id and run ids by name."""
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment(
        EXPERIMENT, artifact_location=artifacts.as_uri(), tags=experiment_tags()
    )
    ids = {}
    for detector, (family, auroc) in RUNS.items():
        name = schema.run_name(detector, "toy", 0, 0)
        run = client.create_run(exp_id, run_name=name)
        twin = {"ff": "bp-hb-svdd-mlp", "bp": "ff-hb-svdd-mlp"}.get(family, "")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(schema.METRIC_AUROC, auroc, 0, 0)],
            params=[
                Param(schema.PARAM_DETECTOR, detector),
                Param(schema.PARAM_DATASET, "toy"),
                Param(schema.PARAM_NORMAL_CLASS, "0"),
                Param(schema.PARAM_SEED, "0"),
            ],
            tags=[
                RunTag(schema.TAG_FAMILY, family),
                RunTag(schema.TAG_TWIN, twin),
                RunTag(schema.TAG_SUITE, "test"),
            ],
        )
        client.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    return exp_id, ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PLUGIN = '''
import numpy as np


class Mahalanobis:
    """Mahalanobis distance to the training normals."""

    def __init__(self, shrinkage=0.1):
        self.shrinkage = shrinkage

    def fit(self, X):
        cov = np.cov(X, rowvar=False) + self.shrinkage * np.eye(X.shape[1])
        self.mean, self.precision = X.mean(0), np.linalg.inv(cov)
        return self

    def score_samples(self, X):
        return np.einsum("ij,jk,ik->i", X - self.mean, self.precision, X - self.mean)


BENCH_DETECTORS = {"my-mahalanobis": Mahalanobis}
'''
SWEEP = """\
detectors = ["my-mahalanobis", "pyod-knn"]
datasets = ["breast-cancer"]
seeds = 1
experiment = "sweep"
include = ["my_detectors.py"]
workers = 1

[detector.pyod-knn.grid]
n_neighbors = [3, 7]
"""


def _sweep(uri: str, folder: Path) -> str:
    """A real sweep (plugin detector, grid) by the CLI in a fresh interpreter; its
    experiment id."""
    (folder / "my_detectors.py").write_text(PLUGIN)
    (folder / "sweep.toml").write_text(SWEEP)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--config", "sweep.toml", "--tracking-uri", uri,
         "--no-progress"],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return MlflowClient(uri).get_experiment_by_name("sweep").experiment_id


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str, dict[str, str], str, Path]]:
    """``mlflow server`` on a free local port over a fresh store (the schema runs and a real
    sweep); always terminated."""
    tmp_path = tmp_path_factory.mktemp("browser")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exp_id, ids = _write_store(uri, tmp_path / "artifacts")
    sweep_id = _sweep(uri, tmp_path)
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            uri,
            "--default-artifact-root",
            (tmp_path / "artifacts").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # no job workers
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "mlflow server did not start:\n" + (tmp_path / "server.log").read_text()
                )
            time.sleep(0.5)
        yield url, exp_id, ids, sweep_id, tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_experiment_page_shows_runs_and_auroc(server) -> None:
    url, exp_id, ids, _, _ = server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/#/experiments/{exp_id}/runs")
            for name in ids:
                sync_api.expect(page.get_by_text(name, exact=True).first).to_be_visible()
            page.get_by_text("ff-hb-svdd-mlp/toy/0/s0", exact=True).first.click()
            page.wait_for_url(f"**/runs/{ids['ff-hb-svdd-mlp/toy/0/s0']}**")
            sync_api.expect(page.get_by_text(schema.METRIC_AUROC, exact=True).first).to_be_visible()
            sync_api.expect(page.get_by_text("0.8125").first).to_be_visible()
        finally:
            browser.close()


def test_sweep_opens_on_runs_table_with_the_datasets_column(server) -> None:
    """The experiment of a real sweep opens on its runs table (tag mlflow.experimentKind), and
    the Datasets column shows each run's split (MLflow dataset inputs); screenshot kept."""
    url, _, _, sweep_id, tmp_path = server
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = [r for r in client.search_runs([sweep_id]) if schema.TAG_TRIAL_HASH in r.data.tags]
    assert len(runs) == 3  # the plugin detector, and pyod-knn at two grid points
    shots = Path(os.environ.get("BENCH_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    assert client.get_experiment(sweep_id).tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND
    name = "my-mahalanobis/breast-cancer/benign/s0"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.set_default_timeout(60_000)
            # a model-training experiment: no tab named, the runs table is what opens
            page.goto(f"{url}/#/experiments/{sweep_id}?workflowType=machine_learning")
            page.wait_for_url("**/runs**")  # not the GenAI overview
            sync_api.expect(page.get_by_text(name, exact=True).first).to_be_visible()
            assert "/overview" not in page.url
            # the link a sweep prints: the runs table with the benchmark's columns
            page.goto(ui_url(sweep_id, url))
            sync_api.expect(page.get_by_text(name, exact=True).first).to_be_visible()
            header = page.get_by_role("columnheader", name="Dataset")
            sync_api.expect(header.first).to_be_visible()
            sync_api.expect(page.get_by_role("columnheader", name="auroc").first).to_be_visible()
            cell = page.get_by_text("breast-cancer/benign", exact=False)
            sync_api.expect(cell.first).to_be_visible()
            digest = runs[0].inputs.dataset_inputs[0].dataset.digest
            sync_api.expect(page.get_by_text(digest, exact=False).first).to_be_visible()
            page.screenshot(path=str(shots / "mlflow-datasets-column.png"))
        finally:
            browser.close()
