"""A trial: one detector on one split, its stable hash, and running it in a worker."""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core import schema
from core.metrics import score_metrics


@dataclass(frozen=True)
class Trial:
    """(detector, dataset, normal class, seed, hyperparameters) plus where it belongs."""

    detector: str
    dataset: str
    normal_class: int | str
    seed: int
    hparams: dict[str, Any]
    detector_version: int = 1
    suite: str = ""
    data_sha256: str = ""  # the dataset's files' sha256 (JSON), for data read from files
    dataset_version: int = 1  # DatasetSpec.version

    @property
    def key(self) -> str:
        """Stable content hash: same trial, same hash, in any process or machine.

        It covers the data files' sha256 when known, so a changed file makes new trials, the
        dataset's version past 1, so a changed split does too, and the memory meter's."""
        content = {
            "detector": self.detector,
            "detector_version": self.detector_version,
            "dataset": self.dataset,
            "normal_class": self.normal_class,
            "seed": self.seed,
            "hparams": self.hparams,
        }
        if self.data_sha256:
            content["data_sha256"] = self.data_sha256
        if self.dataset_version != 1:
            content["dataset_version"] = self.dataset_version
        if schema.METER_VERSION != 1:
            content["meter_version"] = schema.METER_VERSION
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def run_name(self) -> str:
        return schema.run_name(self.detector, self.dataset, self.normal_class, self.seed)


@dataclass
class TrialResult:
    """What a worker sends back: everything the driver logs for one trial."""

    trial: Trial
    status: str  # FINISHED | FAILED
    start_time: float
    end_time: float
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    scores: np.ndarray | None = None  # rows: index, label, then one column per score_columns
    score_columns: tuple[str, ...] = ("score",)
    error: str = ""
    traceback: str = ""
    step_metrics: dict[str, dict[int, float]] = field(default_factory=dict)  # name -> step -> v
    inputs: list[dict[str, Any]] = field(default_factory=list)  # the split's parts (splitinfo)


def failed(trial: Trial, error: str, tb: str, start: float) -> TrialResult:
    """A FAILED result: the error line and the full traceback, nothing pretending to be a score."""
    return TrialResult(trial, "FAILED", start, time.time(), error=error, traceback=tb)


def execute(trial: Trial, device: str, data_dir: Path | None) -> TrialResult:
    """Run one trial here: load the split, fit under the meters, score, compute metrics."""
    start = time.time()
    try:
        result = _execute(trial, device, data_dir, start)
    except Exception as exc:  # every failure becomes a FAILED run, never a silent NaN
        return failed(trial, f"{type(exc).__name__}: {exc}", traceback.format_exc(), start)
    from bench.splitinfo import describe  # the split's train and test parts: MLflow inputs

    result.inputs = result.inputs or describe(
        _cached_split(trial.dataset, trial.normal_class, trial.seed, data_dir)
    )
    return result


@lru_cache(maxsize=2)
def _cached_split(dataset: str, normal_class: int | str, seed: int, data_dir: Path | None) -> Any:
    """Consecutive trials share a split (the plan runs every detector on one split in turn)."""
    from datasets import load_split

    return load_split(dataset, normal_class, seed, data_dir=data_dir)


def _execute(trial: Trial, device: str, data_dir: Path | None, start: float) -> TrialResult:
    import torch

    from bench.detectors import DETECTORS
    from bench.meters import measure_fit, timed, warm_up

    warm_up()
    spec = DETECTORS.get(trial.detector)
    split = _cached_split(trial.dataset, trial.normal_class, trial.seed, data_dir)
    torch.manual_seed(trial.seed)
    np.random.seed(trial.seed % 2**32)
    if spec.inputs == "stream" or not hasattr(split, "X_train"):  # the online protocol
        from bench.prequential import execute_stream  # (it refuses a detector/data mismatch)

        return execute_stream(trial, spec, split, device, start)
    X_train, X_test = split.X_train.copy(), split.X_test.copy()  # the cached split stays intact
    if split.is_image and spec.inputs != "images":  # MLPs and PyOD see images as rows
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    detector = spec.build(trial.seed, device, trial.hparams)
    if callable(getattr(detector, "build", None)):  # parameters allocated outside the meter
        detector.build(X_train.shape[1:])
    reading = measure_fit(lambda: detector.fit(X_train), device)
    score_all = getattr(detector, "score_rules", None)  # networks: every rule from one pass
    if callable(score_all):
        rules, score_seconds = timed(lambda: score_all(X_test), device)
        rules = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in rules.items()}
        scores = rules[detector.hparams["score_layers"]]
    else:
        raw, score_seconds = timed(lambda: detector.score_samples(X_test), device)
        rules, scores = {}, np.asarray(raw, dtype=np.float64).reshape(-1)
    for values in (scores, *rules.values()):
        if values.shape != (len(split.y_test),):
            n_test = len(split.y_test)
            raise ValueError(f"{trial.detector} returned {values.shape} scores for {n_test} rows")
        if not np.isfinite(values).all():
            raise ValueError(f"{trial.detector} returned NaN or infinite anomaly scores")

    y = split.y_test.astype(int)
    metrics: dict[str, float] = {
        **score_metrics(y, scores),
        schema.METRIC_FIT_SECONDS: reading.seconds,
        schema.METRIC_SCORE_SECONDS: score_seconds,
        schema.METRIC_PEAK_TRAIN_MEM: reading.peak_train_mem_bytes,
        schema.METRIC_PEAK_RSS: reading.peak_rss_bytes,
        schema.METRIC_N_TRAIN: float(len(split.X_train)),
        schema.METRIC_N_TEST: float(len(split.X_test)),
        schema.METRIC_ANOMALY_RATIO: float(y.mean()),
        schema.METRIC_N_FEATURES: float(np.prod(split.X_train.shape[1:])),
    }
    metrics |= rule_metrics(y, rules) | detector_metrics(detector, reading)
    for phase, seconds in getattr(detector, "phase_seconds", {}).items():
        metrics[f"{phase}_seconds"] = seconds
    for layer, share in getattr(detector, "centre_eps_share", {}).items():
        metrics[f"{schema.METRIC_CENTRE_EPS_SHARE}.{layer}"] = share
    if metrics.get("n_steps"):
        train_seconds = metrics.get("train_seconds", reading.seconds)
        metrics[schema.METRIC_STEP_SECONDS] = train_seconds / metrics["n_steps"]
    widths = detector.hparams.get("widths")
    if spec.arch == "mlp" and widths:
        metrics[schema.METRIC_DEPTH] = float(len(widths))
        metrics[schema.METRIC_WIDTH] = float(max(widths))

    curves = getattr(detector, "history", {})  # per-epoch training curves: MLflow step metrics
    step_metrics = {name: dict(enumerate(values)) for name, values in curves.items()}
    tags = run_tags(split.provenance, device, reading)
    if hasattr(detector, "collapsed"):
        tags[schema.TAG_COLLAPSED] = ",".join(detector.collapsed)
    params = {f"{schema.HPARAM_PREFIX}{k}": v for k, v in sorted(detector.hparams.items())}
    index = np.asarray(split.test_idx, dtype=np.float64)
    columns = ("score", *(f"score.{rule}" for rule in rules))
    table = np.column_stack([index, y.astype(np.float64), scores, *rules.values()])
    return TrialResult(
        trial,
        "FINISHED",
        start,
        time.time(),
        params,
        tags,
        metrics,
        table,
        score_columns=columns,
        step_metrics=step_metrics,
    )


def rule_metrics(y: np.ndarray, rules: dict[str, np.ndarray]) -> dict[str, float]:
    """``<metric>.<rule>`` (``auroc.last``, ``auprc.sum``, ...) for every score metric of
    ``core.metrics`` and every scoring rule of a network."""
    out = {}
    for rule, values in rules.items():
        out |= score_metrics(y, values, rule)
    return out


def detector_metrics(detector: Any, reading: Any) -> dict[str, float]:
    """What every trial logs alike from its detector: parameter and step counts, GPU peak."""
    out = {}
    if reading.peak_gpu_mem_bytes is not None:
        out[schema.METRIC_PEAK_GPU_MEM] = reading.peak_gpu_mem_bytes
    for name, attr in ((schema.METRIC_N_PARAMS, "n_params"), ("n_steps", "n_steps")):
        value = getattr(detector, attr, None)
        if value is not None:
            out[name] = float(value)
    return out


def run_tags(prov: Any, device: str, reading: Any) -> dict[str, str]:
    """Device, memory meter, the data's provenance and torch's threads: every trial's tags."""
    import torch

    return {
        schema.TAG_DEVICE: str(device),
        schema.TAG_MEMORY_METER: reading.meter,
        schema.TAG_METER_VERSION: str(schema.METER_VERSION),
        schema.TAG_DATA_PROTOCOL: prov.protocol,
        schema.TAG_DATA_SOURCE: prov.source,
        schema.TAG_DATA_SHA256: json.dumps(prov.sha256, sort_keys=True),
        schema.TAG_DATA_PREPROCESSING: prov.preprocessing,
        schema.TAG_THREADS: str(torch.get_num_threads()),
    }
