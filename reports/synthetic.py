"""A small experiment with known values, written with the bench schema (tests and demos)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from bench import schema

FF, BP = "ff-hb-svdd-mlp", "bp-hb-svdd-mlp"
PYOD = ["pyod-iforest", "pyod-knn"]
DATASETS = {"toy_a": ["0", "1"], "toy_b": ["cat", "dog"], "toy_c": ["0"]}
SEEDS = [0, 1, 2]
FAILED = ("pyod-knn", "toy_b", "dog", 2)
SKIPPED = {"detector": "pyod-knn", "dataset": "toy_c", "reason": "too large for the test"}
DEPTHS = [2, 4, 8]
WIDTH, BATCH = 64, 32
FF_MEM = 10 * 2**20
_BASE = {"ff-hb-svdd-mlp": 0.80, "bp-hb-svdd-mlp": 0.78, "pyod-iforest": 0.70, "pyod-knn": 0.75}


def _tags(detector: str, suite: str) -> dict[str, str]:
    family = detector.split("-")[0]
    twin = {FF: BP, BP: FF}.get(detector, "")
    return {
        schema.TAG_FAMILY: family,
        schema.TAG_TWIN: twin,
        schema.TAG_OBJECTIVE: "hb-svdd" if twin else "",
        schema.TAG_ARCH: "mlp" if twin else "",
        schema.TAG_SUITE: suite,
        schema.TAG_DEVICE: "cpu",
        schema.TAG_HOST: "testhost",
        schema.TAG_CPU: "Test CPU",
        schema.TAG_MEMORY_METER: "memray-peak-heap",
        schema.TAG_VERSION: "0.1.0",
        schema.TAG_SCHEMA: schema.SCHEMA_VERSION,
        schema.TAG_GIT_COMMIT: "abc123",
        schema.TAG_VERSION_PREFIX + "mlflow": "3.17.2",
        schema.TAG_VERSION_PREFIX + "torch": "2.5.0",
    }


def _log(
    client: MlflowClient,
    exp_id: str,
    detector: str,
    dataset: str,
    cls: str,
    seed: int,
    metrics: dict[str, float],
    tags: dict[str, str],
    hps: dict[str, object],
    status: str = "FINISHED",
) -> str:
    run = client.create_run(exp_id, run_name=schema.run_name(detector, dataset, cls, seed))
    params = {
        schema.PARAM_DETECTOR: detector,
        schema.PARAM_DATASET: dataset,
        schema.PARAM_NORMAL_CLASS: cls,
        schema.PARAM_SEED: seed,
    }
    params |= {schema.HPARAM_PREFIX + k: v for k, v in hps.items()}
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
        params=[Param(k, str(v)) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def write_experiment(tracking_uri: str, experiment: str, artifact_root: Path) -> str:
    """Create ``experiment`` with every trial of the grid above; its experiment id.

    One trial FAILED, one (detector, dataset) skipped, and a memory depth sweep of FF and BP.
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    exp_id = client.create_experiment(experiment, artifact_location=Path(artifact_root).as_uri())
    rng = np.random.default_rng(0)
    for detector in [FF, BP, *PYOD]:
        hps = {"lr": 0.001, "epochs": 5} if detector in (FF, BP) else {"n_estimators": 100}
        tags = _tags(detector, "embedded")
        for dataset, classes in DATASETS.items():
            if (detector, dataset) == (SKIPPED["detector"], SKIPPED["dataset"]):
                continue
            for cls in classes:
                for seed in SEEDS:
                    if (detector, dataset, cls, seed) == FAILED:
                        run_id = _log(
                            client,
                            exp_id,
                            detector,
                            dataset,
                            cls,
                            seed,
                            {},
                            tags | {schema.TAG_ERROR: "MemoryError: boom"},
                            hps,
                            status="FAILED",
                        )
                        _artifact(client, run_id, schema.ARTIFACT_TRACEBACK, "MemoryError: boom\n")
                        continue
                    mem = FF_MEM * (1.0 if detector == FF else 1.5 + rng.random())
                    metrics = {
                        schema.METRIC_AUROC: _BASE[detector] + 0.1 * rng.random(),
                        schema.METRIC_AUPRC: 0.5 + 0.4 * rng.random(),
                        schema.METRIC_FIT_SECONDS: 1.0 + rng.random(),
                        schema.METRIC_SCORE_SECONDS: 0.1,
                        schema.METRIC_PEAK_TRAIN_MEM: round(mem),
                        schema.METRIC_PEAK_RSS: 500 * 2**20,
                        schema.METRIC_N_PARAMS: 1000,
                        schema.METRIC_N_TRAIN: 100 + len(cls),
                        schema.METRIC_N_TEST: 400,
                        schema.METRIC_ANOMALY_RATIO: 0.75,
                    }
                    _log(client, exp_id, detector, dataset, cls, seed, metrics, tags, hps)
    for detector in (FF, BP):
        for depth in DEPTHS:
            extra = 0 if detector == FF else (depth - DEPTHS[0]) * BATCH * WIDTH * 4 * 2
            metrics = {
                schema.METRIC_DEPTH: depth,
                schema.METRIC_WIDTH: WIDTH,
                schema.METRIC_PEAK_TRAIN_MEM: FF_MEM + extra + 4096,
                schema.METRIC_STEP_SECONDS: 0.01 * depth,
            }
            _log(
                client,
                exp_id,
                detector,
                "toy_a",
                "0",
                0,
                metrics,
                _tags(detector, "memory"),
                {"batch_size": BATCH, "depth": depth},
            )
    run = client.create_run(exp_id, run_name="skipped", tags={schema.TAG_SUMMARY: "skipped"})
    _artifact(client, run.info.run_id, "skipped.json", json.dumps([SKIPPED]))
    client.set_terminated(run.info.run_id)
    return exp_id


def _artifact(client: MlflowClient, run_id: str, name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text)
        client.log_artifact(run_id, str(path))
