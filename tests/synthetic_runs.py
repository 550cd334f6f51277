"""A small experiment with known values, written with the bench schema (a test fixture)."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from core import schema

FF, BP = "ff-hb-svdd-mlp", "bp-hb-svdd-mlp"
PYOD = ["pyod-iforest", "pyod-knn"]
DATASETS = {"toy_a": ["0", "1"], "toy_b": ["cat", "dog"], "toy_c": ["0"]}
SEEDS = [0, 1, 2]
FAILED = ("pyod-knn", "toy_b", "dog", 2)
SKIPPED = {"detector": "pyod-knn", "dataset": "toy_c", "reason": "too large for the test"}
DEPTHS = [2, 4, 8]
WIDTH, BATCH, STEPS = 64, 32, 4
MEMORY_SEEDS = [0, 1]
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
        schema.TAG_VERSION_PREFIX + "python": "3.12.1",
    }


def trial_row(experiment: str, run_id: str, detector: str, dataset: str, cls, seed: int) -> dict:
    """The columns every row of a tidy run table has: ids, status and the trial's params."""
    return {
        "run_id": run_id,
        "experiment": experiment,
        "run_name": schema.run_name(detector, dataset, cls, seed),
        "status": "FINISHED",
        "params.detector": detector,
        "params.dataset": dataset,
        "params.normal_class": str(cls),
        "params.seed": str(seed),
    }


def memory_peak(detector: str, depth: int, seed: int) -> int:
    """Known peak of the memory study: FF flat; BP grows by one weight gradient and one
    batch x width activation per layer (4-byte floats); seeds differ by 4 KiB."""
    per_layer = (WIDTH * WIDTH + BATCH * WIDTH) * 4
    extra = 0 if detector == FF else (depth - DEPTHS[0]) * per_layer
    return FF_MEM + extra + 4096 * (1 + seed)


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
    for detector, depth, seed in itertools.product((FF, BP), DEPTHS, MEMORY_SEEDS):
        metrics = {
            schema.METRIC_DEPTH: depth,
            schema.METRIC_WIDTH: WIDTH,
            schema.METRIC_PEAK_TRAIN_MEM: memory_peak(detector, depth, seed),
            schema.METRIC_STEP_SECONDS: (0.01 if detector == FF else 0.014) * depth + 0.001 * seed,
            schema.METRIC_AUROC: 0.5 + 0.01 * seed,
        }
        _log(
            client,
            exp_id,
            detector,
            "synthetic-memory",
            "0",
            seed,
            metrics,
            _tags(detector, "memory"),
            {
                "batch_size": BATCH,
                "widths": [WIDTH] * depth,
                "max_steps": STEPS,
                "optimizer": "sgd",
                "score_layers": "last",
            },
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


# A sweep at paper scale for layout checks: long names, several families and suites.
WIDE_DETECTORS = {
    "ff": [f"ff-{o}-{a}" for o in ("hb-svdd", "sigmoid-goodness", "goodness") for a in ("mlp",)],
    "bp": [f"bp-{o}-{a}" for o in ("hb-svdd", "sigmoid-goodness", "goodness") for a in ("mlp",)],
    "bpl": [f"bpl-{o}-mlp" for o in ("hb-svdd", "sigmoid-goodness", "goodness")],
    "ref": ["untrained-sigmoid-goodness-mlp", "ref-input-norm"],
    "pyod": [f"pyod-{m}" for m in ("iforest", "knn", "ocsvm", "lof", "ecod", "copod", "deepsvdd")],
}
WIDE_SUITES = {
    "embedded": ["breast-cancer", "digits", "wine"],
    "adbench": [
        f"{i}_{n}"
        for i, n in enumerate(
            [
                "annthyroid",
                "cardiotocography",
                "pendigits",
                "satellite",
                "shuttle",
                "thyroid",
                "vowels",
            ],
            start=2,
        )
    ],
}


def wide_runs(seeds: int = 3, classes: int = 2) -> pd.DataFrame:
    """The tidy run table (``reports.load_runs``'s columns) of a paper-scale sweep with
    seeded random values, plus a memory study of two FF/BP pairs at five depths."""
    rng = np.random.default_rng(7)
    rows = []
    for family, names in WIDE_DETECTORS.items():
        for det in names:
            twin = ""
            core = det.split("-", 1)[1] if family in ("ff", "bp", "bpl") else ""
            core = det.removeprefix("untrained-") if det.startswith("untrained-") else core
            if family in ("ff", "bp", "bpl"):
                twin = det.replace(family + "-", "bp-" if family == "ff" else "ff-", 1)
            for suite, datasets in WIDE_SUITES.items():
                for ds in datasets:
                    for cls in range(classes):
                        share = 0.3 + 0.6 * rng.random()
                        for seed in range(seeds):
                            rows.append(
                                {
                                    "status": "FINISHED",
                                    "params.detector": det,
                                    "params.dataset": ds,
                                    "params.normal_class": str(cls),
                                    "params.seed": str(seed),
                                    "params.hp.random_state": str(seed),
                                    "params.hp.n_features": "30",
                                    "params.hp.lr": "0.001",
                                    "params.hp.hidden_neurons": "[64, 32]",
                                    "tags.bench.family": family,
                                    "tags.bench.twin": twin,
                                    "tags.bench.suite": suite,
                                    "tags.bench.memory_meter": "malloc-peak-heap",
                                    "tags.bench.data.protocol": "one-vs-rest-stratified-70-30",
                                    "tags.bench.objective": core[: -len("-mlp")] if core else "",
                                    "tags.bench.arch": "mlp" if core else "",
                                    "metrics.auroc": rng.uniform(0.3, 1.0),
                                    **(
                                        {
                                            "params.hp.score_layers": "last"
                                            if family == "bpl"
                                            else "sum",
                                            "metrics.auroc.sum": rng.uniform(0.3, 1.0),
                                            "metrics.auroc.last": rng.uniform(0.3, 1.0),
                                        }
                                        if core
                                        else {}
                                    ),
                                    "metrics.auprc": rng.uniform(0.2, 1.0),
                                    "metrics.fit_seconds": rng.uniform(0.001, 30.0),
                                    "metrics.peak_train_mem_bytes": rng.uniform(1, 300) * 2**20,
                                    "metrics.n_train": 120.0,
                                    "metrics.n_test": 300.0,
                                    "metrics.anomaly_ratio": share,
                                }
                            )
    # (method, family, MiB per layer, step-time factor); the checkpointed twins trade memory
    # for time, the untrained control trains nothing
    methods = (
        ("ff", "ff", 0.05, 1.0),
        ("bp", "bp", 6, 1.4),
        ("bp-ckpt", "bp", 4, 2.0),
        ("bp-ckpt-each", "bp", 3.5, 2.3),
        ("bp-accum", "bp", 5, 1.6),
        ("bpl", "bpl", 6, 1.4),
        ("untrained", "ref", 0.0, float("nan")),
    )
    for (name, family, grow, slow), o in itertools.product(methods, ("hb-svdd", "goodness")):
        core = f"{o}-mlp"
        det = f"{name}-{core}".replace("-each-" + core, f"-{core}-each")
        for depth in (2, 4, 8, 16, 32):
            for seed in range(seeds):
                rows.append(
                    {
                        "status": "FINISHED",
                        "params.detector": det,
                        "params.dataset": "synthetic-memory",
                        "params.normal_class": "0",
                        "params.seed": str(seed),
                        "params.hp.batch_size": "512",
                        "params.hp.max_steps": "8",
                        "params.hp.optimizer": "sgd",
                        "tags.bench.family": family,
                        "tags.bench.twin": f"bp-{core}" if family == "ff" else f"ff-{core}",
                        "tags.bench.suite": "memory",
                        "tags.bench.memory_meter": "malloc-peak-heap",
                        "metrics.depth": float(depth),
                        "metrics.width": 1024.0,
                        "metrics.peak_train_mem_bytes": (14 + grow * depth + rng.random()) * 2**20,
                        "metrics.step_seconds": 0.02 * depth * slow,
                        "metrics.auroc": rng.uniform(0.4, 0.6),
                    }
                )
    out = pd.DataFrame(rows)
    out.insert(
        0,
        "run_name",
        [
            f"{r['params.detector']}/{r['params.dataset']}/{r['params.normal_class']}/"
            f"s{r['params.seed']}"
            for _, r in out.iterrows()
        ],
    )
    out.insert(0, "experiment", "wide")
    out.insert(0, "run_id", [f"r{i}" for i in range(len(out))])
    return out
