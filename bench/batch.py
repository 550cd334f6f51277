"""The batch protocol: one detector fitted on a split's training normals, then scoring its
test rows (the worker's side of :func:`bench.worker.execute` for batch datasets)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.trial import Trial, TrialResult, detector_metrics, finished, rule_metrics, run_tags
from core import schema
from core.metrics import score_metrics


def execute_batch(trial: Trial, spec: Any, split: Any, device: str, start: float) -> TrialResult:
    """Fit under the meters, score every rule, compute the metrics of one batch trial."""
    from bench.meters import measure_fit, timed

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
    index = np.asarray(split.test_idx, dtype=np.float64)
    columns = ("score", *(f"score.{rule}" for rule in rules))
    table = np.column_stack([index, y.astype(np.float64), scores, *rules.values()])
    return finished(trial, start, detector, tags, metrics, table, columns, step_metrics)
