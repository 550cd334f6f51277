"""End to end in a browser: an MLflow server over a schema store shows run names and AUROC."""

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

from bench import schema

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
    exp_id = client.create_experiment(EXPERIMENT, artifact_location=artifacts.as_uri())
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``mlflow server`` on a free local port over a fresh store; always terminated."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exp_id, ids = _write_store(uri, tmp_path / "artifacts")
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
        yield url, exp_id, ids
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_experiment_page_shows_runs_and_auroc(server: tuple[str, str, dict[str, str]]) -> None:
    url, exp_id, ids = server
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
