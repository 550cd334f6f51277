"""The public contract check (``bench.checks.check_detector``): every registered detector
passes it, and a detector that breaks a rule is named with the rule."""

from __future__ import annotations

import numpy as np
import pytest

from bench.checks import check_detector
from bench.detector_spec import DetectorSpec
from bench.detectors import DETECTORS


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as each trial has on a 2-core machine: tiny fits run faster so."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", DETECTORS.names())
def test_every_registered_detector_keeps_the_contract(name):
    check_detector(name)


class Centroid:
    """Distance to the training mean: a plugin detector that keeps the contract."""

    def __init__(self, seed: int = 0, power: float = 2.0):
        self.power, self.mean, self.hparams = power, None, {"power": power}

    def fit(self, X):
        X = np.asarray(X, dtype=float)
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN")
        self.mean = X.mean(0)
        return self

    def score_samples(self, X):
        if self.mean is None:
            raise RuntimeError("not fitted")
        return (np.abs(np.asarray(X) - self.mean) ** self.power).sum(1)


class Inverted(Centroid):
    def score_samples(self, X):
        return -super().score_samples(X)


class NotSelf(Centroid):
    def fit(self, X):
        super().fit(X)
        return None


class Shuffles(Centroid):
    def fit(self, X):
        X.sort(axis=0)  # modifies the caller's array
        return super().fit(X)


class Noisy(Centroid):
    def score_samples(self, X):
        return super().score_samples(X) + np.random.default_rng().uniform(0, 1e-9, len(X))


class TakesNaN(Centroid):
    def fit(self, X):
        self.mean = np.nanmean(X, 0)
        return self


class Unfitted(Centroid):
    def __init__(self, seed: int = 0, power: float = 2.0):
        super().__init__(seed, power)
        self.mean = 0.0


class OneScore(Centroid):
    def score_samples(self, X):
        return super().score_samples(X)[:1]


class Forgets(Centroid):
    def fit(self, X):
        self.hparams = {"power": 3.0}
        return super().fit(X)


def test_a_plugin_class_keeps_the_contract():
    check_detector(Centroid)
    full = DetectorSpec(
        "my-centroid", "plugin", lambda seed, device, **hp: Centroid(seed, **hp), {"power": 2.0}
    )
    check_detector(full)


@pytest.mark.parametrize(
    ("cls", "rule"),
    [
        (Inverted, "higher scores mean more anomalous"),
        (NotSelf, "fit returns the detector itself"),
        (Shuffles, "fit and scoring leave their input unchanged"),
        (Noisy, "the same seed gives identical scores"),
        (TakesNaN, "NaN in X makes fit raise ValueError"),
        (Unfitted, "scoring before fit raises"),
        (OneScore, "score_samples gives one score per row"),
        (Forgets, "hparams holds the values it ran with"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_a_broken_rule_is_named_with_the_detector(cls, rule):
    with pytest.raises(AssertionError) as err:
        check_detector(cls)
    assert f"detector {cls.__name__!r} breaks the contract: {rule}" in str(err.value)


class StreamMean:
    """A stream detector: distance to the running mean, updated after scoring."""

    def __init__(self, seed: int = 0, device: str = "cpu", **hparams):
        self.hparams, self.seconds = dict(hparams), {"score": 0.0, "update": 0.0}
        self.mean, self.n = None, 0

    def start(self, X):
        self.mean, self.n = X.mean(0), len(X)

    def score_learn(self, X):
        score = ((X - self.mean) ** 2).sum(1)
        self.mean = (self.mean * self.n + X.sum(0)) / (self.n + len(X))
        self.n += len(X)
        return {"score": score}


class StreamInverted(StreamMean):
    def score_learn(self, X):
        return {"score": -super().score_learn(X)["score"]}


def _stream(cls):
    protocol = {"batch_size": 16, "warmup": 32}
    return DetectorSpec(cls.__name__, "plugin", cls, protocol, inputs="stream")


def test_stream_detectors_have_the_online_contract():
    check_detector(_stream(StreamMean))
    with pytest.raises(AssertionError, match="'StreamInverted' breaks the contract: higher"):
        check_detector(_stream(StreamInverted))
