"""The online detector contract as a check (:func:`bench.checks.check_detector` of a stream
detector): ``start`` on the warm-up, then ``score_learn`` per batch as
:mod:`bench.prequential` runs it.

Rules: ``hparams`` holds the protocol's ``warmup`` and ``batch_size`` (integers) and every
value it was built with; ``score_learn`` returns a dict of rules, the headline one
(``score_layers``, else ``"score"``) among them, each one finite float per row of the batch;
anomalies in the stream score higher on average than normals; the same seed gives identical
scores; neither ``start`` nor ``score_learn`` changes its input; ``seconds`` holds the
cumulative ``score`` and ``update`` times. Not required, unlike batch detectors: refusing NaN
(the harness refuses it when it loads a stream, and river's detectors take any float) and
raising when scoring before ``start`` (the harness skips ``start`` when ``warmup`` is 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.check_rules import (
    ANOMALY_AT,
    attempt,
    build,
    cluster,
    fail,
    same_hparams,
    scores,
    separates,
)

#: Scored samples after the warm-up: enough for river's half-space trees to finish their
#: first window (250 samples, scores 0 until then); every ``EVERY``-th is an anomaly.
N_SCORED, EVERY = 384, 8


def stream_problem(warmup: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The tabular problem (:func:`~bench.check_rules.cluster`) as a stream: ``warmup`` normals,
    then normals with every ``EVERY``-th sample an anomaly; (X, labels of the scored part).
    Not z-scored (the harness z-scores a stream from its warm-up): the rows as they are."""
    y = (np.arange(N_SCORED) % EVERY == EVERY - 1).astype(int)
    X = cluster(warmup + N_SCORED, 1.0, rng)
    X[warmup:][y == 1] = cluster(int(y.sum()), ANOMALY_AT, rng)
    return X, y


def check_stream(spec: Any, hparams: dict[str, Any], seed: int, device: str) -> None:
    """Raise :class:`~bench.check_rules.ContractError` on the first broken rule."""
    warmup, batch = hparams.get("warmup"), hparams.get("batch_size")
    for key, value, least in (("warmup", warmup, 0), ("batch_size", batch, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise fail(spec, f"hparams holds the protocol's {key}", f"an int >= {least}: {value!r}")
    X, y = stream_problem(warmup, np.random.default_rng(0))
    first, s = _run(spec, hparams, seed, device, X, batch, warmup)
    separates(spec, y, s, "a far cluster in the stream")
    same_hparams(spec, first, hparams)
    seconds = getattr(first, "seconds", None)
    if not (isinstance(seconds, dict) and all(k in seconds for k in ("score", "update"))):
        raise fail(spec, "seconds holds the score and update times", f"got {seconds!r}")
    _, repeat = _run(spec, hparams, seed, device, X, batch, warmup)
    if not np.array_equal(s, repeat):
        raise fail(spec, "the same seed gives identical scores", "two runs differ")


def _run(
    spec: Any,
    hparams: dict[str, Any],
    seed: int,
    device: str,
    X: np.ndarray,
    batch: int,
    warmup: int,
) -> tuple[Any, np.ndarray]:
    """Build, warm up, score-then-learn every batch; (detector, headline scores)."""
    detector = build(spec, hparams, seed, device)
    if callable(getattr(detector, "build", None)):
        attempt(spec, "build(sample_shape) works", lambda: detector.build(X.shape[1:]))
    given = X.copy()
    if warmup:
        attempt(spec, "start(X_warmup) works", lambda: detector.start(given[:warmup]))
    headline = hparams.get("score_layers", "score")
    out = []
    for start in range(warmup, len(X), batch):
        part = given[start : start + batch]
        rules = attempt(spec, "score_learn(X_batch) works", lambda p=part: detector.score_learn(p))
        if not isinstance(rules, dict) or headline not in rules:
            raise fail(spec, f"score_learn returns a dict with the rule {headline!r}", repr(rules))
        for rule, values in rules.items():
            scored = scores(spec, values, len(part), f"score_learn()[{rule!r}]")
            if rule == headline:
                out.append(scored)
    if not np.array_equal(given, X):
        raise fail(spec, "start and score_learn leave their input unchanged", "the array changed")
    return detector, np.concatenate(out)
