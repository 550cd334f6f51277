"""A trial: one detector on one split, its stable hash, its result, and what the batch and
the stream protocol log alike (rule and detector metrics, run tags)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
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


def finished(
    trial: Trial,
    start: float,
    detector: Any,
    tags: dict[str, str],
    metrics: dict[str, float],
    table: np.ndarray,
    columns: tuple[str, ...],
    step_metrics: dict[str, dict[int, float]],
) -> TrialResult:
    """A FINISHED result, ending now; the detector's hyperparameters become ``hp.*`` params."""
    params = {f"{schema.HPARAM_PREFIX}{k}": v for k, v in sorted(detector.hparams.items())}
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
