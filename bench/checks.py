"""The detector contract as a check (scikit-learn's ``check_estimator`` pattern).

    from bench.checks import check_detector

    check_detector("pyod-knn")        # a registered name, a DetectorSpec or a plugin's class

runs the contract suite on small synthetic data with the detector's own hyperparameters (a
small budget where it has ``epochs`` / ``max_steps``, :data:`BUDGET`) and raises
``AssertionError`` naming the detector and the rule it breaks. Batch detectors: ``fit`` on
normal rows returns the detector; ``score_samples`` gives one finite float per row (and
``score_rules``, where there is one, per rule, its ``score_layers`` rule being
``score_samples``); clearly separated anomalies score higher on average than normals; the
same seed gives identical scores (also after ``build``); neither ``fit`` nor scoring changes
its input; ``hparams`` is a dict holding the values it was built with; NaN in ``X`` makes
``fit`` raise ``ValueError``; scoring before ``fit`` raises. Image detectors
(``inputs="images"``) get ``(N, 1, 28, 28)`` images; stream detectors the online contract
(:mod:`bench.stream_checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bench.check_rules import (
    attempt,
    build,
    fail,
    image_problem,
    raises,
    same_hparams,
    scores,
    separates,
    tabular_problem,
)
from bench.stream_checks import check_stream

#: Hyperparameters lowered for the check, where a detector has them (its training budget).
BUDGET: dict[str, Any] = {"epochs": 2, "max_steps": 8, "ae_epochs": 2, "epoch_num": 2}


def check_detector(
    detector: Any, *, seed: int = 0, device: str = "cpu", budget: Mapping[str, Any] = BUDGET
) -> None:
    """Run the contract suite on ``detector`` (a registered name, a :class:`DetectorSpec`, or
    a plugin's class or factory); raise ``AssertionError`` naming the broken rule."""
    spec = _spec(detector)
    hparams = spec.resolve({k: v for k, v in budget.items() if k in spec.defaults})
    if spec.inputs == "stream":
        check_stream(spec, hparams, seed, device)
    else:
        _check_batch(spec, hparams, seed, device)


def _spec(detector: Any) -> Any:
    from bench import plugins
    from bench.detector_spec import DetectorSpec
    from bench.detectors import DETECTORS

    if isinstance(detector, DetectorSpec):
        return detector
    if isinstance(detector, str):
        return DETECTORS.get(detector)
    name = getattr(detector, "__name__", type(detector).__name__)
    return plugins.detector_spec(name, detector)


def _check_batch(spec: Any, hparams: dict[str, Any], seed: int, device: str) -> None:
    images = spec.inputs == "images"
    X_train, X_test, y = (image_problem if images else tabular_problem)(np.random.default_rng(0))
    problem = "images with a bright patch" if images else "a far cluster opposite the normals"
    n = len(X_test)
    train, test = X_train.copy(), X_test.copy()
    first = build(spec, hparams, seed, device)
    fitted = attempt(spec, "fit on normal rows works", lambda: first.fit(train))
    if fitted is not first:
        raise fail(spec, "fit returns the detector itself", f"got {type(fitted).__name__}")
    s = scores(
        spec,
        attempt(spec, "score_samples works", lambda: first.score_samples(test)),
        n,
        "score_samples",
    )
    if not (np.array_equal(train, X_train) and np.array_equal(test, X_test)):
        raise fail(spec, "fit and scoring leave their input unchanged", "the array changed")
    _rules(spec, first, test, s)
    separates(spec, y, s, problem)
    same_hparams(spec, first, hparams)

    again = build(spec, hparams, seed, device)
    built = callable(getattr(again, "build", None))
    if built:  # what a trial does: parameters allocated before fit
        attempt(spec, "build(sample_shape) works", lambda: again.build(X_train.shape[1:]))
    attempt(spec, "fit on normal rows works", lambda: again.fit(X_train.copy()))
    repeat = attempt(spec, "score_samples works", lambda: again.score_samples(X_test.copy()))
    repeat = scores(spec, repeat, n, "score_samples")
    if not np.array_equal(s, repeat):
        how = " (the second after build)" if built else ""
        raise fail(spec, "the same seed gives identical scores", f"two fits differ{how}")

    bad = X_train.copy()
    bad.flat[3] = np.nan
    nan = build(spec, hparams, seed, device)
    raises(spec, "NaN in X makes fit raise ValueError", lambda: nan.fit(bad), ValueError)
    fresh = build(spec, hparams, seed, device)
    raises(spec, "scoring before fit raises", lambda: fresh.score_samples(X_test), Exception)
    if callable(getattr(fresh, "score_rules", None)):
        raises(spec, "scoring before fit raises", lambda: fresh.score_rules(X_test), Exception)


def _rules(spec: Any, detector: Any, X: np.ndarray, s: np.ndarray) -> None:
    """A network's ``score_rules``: per rule one finite score per row; ``score_layers`` is
    the rule ``score_samples`` gives (the trial's headline)."""
    score_rules = getattr(detector, "score_rules", None)
    if not callable(score_rules):
        return
    rules = attempt(spec, "score_rules works", lambda: score_rules(X))
    for rule, values in rules.items():
        scores(spec, values, len(X), f"score_rules[{rule!r}]")
    headline = detector.hparams.get("score_layers")
    if headline not in rules or not np.allclose(np.asarray(rules[headline], float), s):
        raise fail(spec, "score_rules()[score_layers] is score_samples", f"rule {headline!r}")
