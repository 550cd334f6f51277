"""The online protocol: one stream detector on one stream, prequential (test-then-train).

The stream (``datasets.stream.Stream``) is z-scored with the statistics of its first
``warmup`` samples only. The detector initialises from those samples (``start``; they are not
scored), then the rest arrives in mini-batches of ``batch_size``: each batch is scored by the
detector as it stands, then learned (``score_learn``). Labels never reach the detector.
Metrics are over every scored sample: prequential AUROC / AUPRC, AUROC over sliding windows
(MLflow step metrics), score and update time per sample, throughput, and the peak heap of the
stream loop (scoring and updating, the same meter as ``fit`` in batch runs).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.trial import Trial, TrialResult, detector_metrics, finished, rule_metrics, run_tags
from core import schema
from core.metrics import auroc, score_metrics

#: Sliding windows for ``auroc_window``: this many scored samples, starting every
#: ``WINDOW_STRIDE`` samples (windows lacking normals or anomalies are left out).
WINDOW = 100
WINDOW_STRIDE = 50


def check_protocol(n: int, warmup: Any, batch_size: Any, dataset: str = "stream") -> None:
    """Refuse a protocol that cannot run, saying why."""
    for key, value, least in (("batch_size", batch_size, 1), ("warmup", warmup, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{key} must be an integer >= {least}, got {value!r}")
    if n <= warmup:
        raise ValueError(
            f"{dataset}: the stream has {n} samples, not more than the warm-up of {warmup}: "
            "nothing would be scored (lower --param warmup=...)"
        )


def windowed_auroc(
    y: np.ndarray, scores: np.ndarray, size: int = WINDOW, stride: int = WINDOW_STRIDE
) -> dict[int, float]:
    """AUROC of each window ``[i * stride, i * stride + size)`` of scored samples that holds
    both classes, by window index ``i``."""
    out = {}
    for i, s in enumerate(range(0, max(1, len(y) - size + stride), stride)):
        part = y[s : s + size]
        if len(part) == size and 0 < part.sum() < size:
            out[i] = auroc(part, scores[s : s + size])
    return out


def run_stream(detector: Any, X: np.ndarray, warmup: int, batch_size: int, device: str) -> Any:
    """Warm-up, then the test-then-train loop under the memory meter; returns (per-rule score
    arrays over the scored samples, meter reading, warm-up seconds)."""
    from bench.meters import measure_fit

    t0 = time.perf_counter()
    if warmup:
        detector.start(X[:warmup])
    warmup_seconds = time.perf_counter() - t0
    parts: list[dict[str, np.ndarray]] = []

    def loop() -> None:
        for s in range(warmup, len(X), batch_size):
            parts.append(detector.score_learn(X[s : s + batch_size]))

    reading = measure_fit(loop, device)
    rules = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return rules, reading, warmup_seconds


def execute_stream(trial: Trial, spec: Any, stream: Any, device: str, start: float) -> TrialResult:
    """Run one stream trial (the worker's side of ``bench.worker.execute``)."""
    from bench.meters import warm_up
    from datasets.stream import Stream

    if spec.inputs != "stream" or not isinstance(stream, Stream):
        raise ValueError(
            f"{trial.detector} ({spec.inputs} inputs) cannot run on {trial.dataset}: stream "
            "detectors run on stream datasets only, batch detectors on batch datasets only"
        )
    hp = trial.hparams
    warmup, batch_size = hp.get("warmup"), hp.get("batch_size")
    check_protocol(len(stream), warmup, batch_size, trial.dataset)
    warm_up()
    X = stream.standardised(warmup)
    detector = spec.build(trial.seed, device, hp)
    if callable(getattr(detector, "build", None)):  # parameters allocated outside the meter
        detector.build(X.shape[1:])
    rules, reading, warmup_seconds = run_stream(detector, X, warmup, batch_size, device)
    headline = hp.get("score_layers", "score")
    scores = rules[headline]
    y = np.asarray(stream.y[warmup:], dtype=int)
    for values in rules.values():
        if values.shape != y.shape or not np.isfinite(values).all():
            raise ValueError(
                f"{trial.detector} returned {values.shape} scores for {len(y)} "
                "samples, or NaN / infinite ones"
            )
    n = len(y)
    seconds = detector.seconds
    metrics: dict[str, float] = {
        **score_metrics(y, scores),
        schema.METRIC_FIT_SECONDS: seconds["update"],
        schema.METRIC_SCORE_SECONDS: seconds["score"],
        schema.METRIC_PEAK_TRAIN_MEM: reading.peak_train_mem_bytes,
        schema.METRIC_PEAK_RSS: reading.peak_rss_bytes,
        schema.METRIC_N_TEST: float(n),
        schema.METRIC_ANOMALY_RATIO: float(y.mean()),
        schema.METRIC_STREAM_N_WARMUP: float(warmup),
        schema.METRIC_STREAM_N_BATCHES: float(-(-n // batch_size)),
        schema.METRIC_STREAM_SCORE_PER_SAMPLE: seconds["score"] / n,
        schema.METRIC_STREAM_UPDATE_PER_SAMPLE: seconds["update"] / n,
        schema.METRIC_STREAM_SECONDS: reading.seconds,
        schema.METRIC_STREAM_THROUGHPUT: n / reading.seconds,
        schema.METRIC_STREAM_WARMUP_SECONDS: warmup_seconds,
    }
    if len(rules) > 1:
        metrics |= rule_metrics(y, rules)
    metrics |= detector_metrics(detector, reading)
    windows = windowed_auroc(y, scores)
    for i, value in windows.items():
        metrics[f"{schema.METRIC_STREAM_AUROC_WINDOW}.{i}"] = value
    segment = np.asarray(stream.segment[warmup:])
    if len(np.unique(stream.segment)) > 1:
        metrics[schema.METRIC_STREAM_DRIFT_AT] = float(np.argmax(segment != segment[0]))
    tags = run_tags(stream.provenance, device, reading)
    tags[schema.TAG_STREAM_WINDOW] = f"{WINDOW}/{WINDOW_STRIDE}"
    others = list(rules) if len(rules) > 1 else []  # networks: every rule, as in batch runs
    columns = ("score", *(f"score.{k}" for k in others), "source_row", "segment")
    table = np.column_stack(
        [
            np.arange(warmup, len(stream), dtype=np.float64),
            y.astype(np.float64),
            scores,
            *(rules[k] for k in others),
            np.asarray(stream.index[warmup:], dtype=np.float64),
            np.asarray(stream.segment[warmup:], dtype=np.float64),
        ]
    )
    windows_metric = {schema.METRIC_STREAM_AUROC_WINDOW: windows}
    return finished(trial, start, detector, tags, metrics, table, columns, windows_metric)
