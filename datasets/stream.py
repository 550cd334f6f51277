"""Streams for the online (prequential, test-then-train) protocol.

A :class:`Stream` is a dataset's samples in a seeded order with their 0/1 labels (1 =
anomaly), the labels kept for the metrics and never given to a detector. Features are RAW
(unscaled): the prequential runner (``bench.prequential``) standardises them with statistics
of the warm-up prefix only (:meth:`Stream.standardised`), never of the whole stream. The
batch splits of ``datasets.embedded`` / ``datasets.tabular`` are not touched.

Scenarios:

* :func:`one_vs_rest_stream`: the rows of one class are the normals; anomalies are a seeded
  sample of the other classes' rows, :data:`ANOMALY_SHARE` of the stream; random order with
  the anomalies spread over the stream (:func:`_spread`).
* :func:`labelled_stream`: every row of a labelled set (ADBench: its own anomaly share), in a
  random order.
* :func:`drift_stream`: the normal class changes halfway: class ``a``'s rows (plus
  anomalies) first, class ``b``'s rows (plus anomalies) second; anomalies come from the
  classes other than ``a`` and ``b``; each half in a random order (anomalies spread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.embedded import embedded_arrays, sklearn_loader
from datasets.errors import DatasetError
from datasets.preprocessing import standardise
from datasets.split import Provenance

#: Share of anomalies in the one-vs-rest and drift streams (anomalies are rare in a stream).
ANOMALY_SHARE = 0.1
#: The drift scenarios of ``stream-drift-digits``: normal class a, then b.
DRIFT_PAIRS = ("0-1", "2-3", "4-5", "6-7", "8-9")


@dataclass(frozen=True)
class Stream:
    """Samples ``X`` (raw float64, stream order) with labels ``y`` (1 = anomaly, hidden).

    ``index`` is each sample's row in the source data; ``segment`` the regime of each sample
    (0 everywhere; 0 then 1 in a drift stream), for reports only.
    """

    dataset: str
    normal_class: int | str
    seed: int
    X: np.ndarray
    y: np.ndarray
    index: np.ndarray
    segment: np.ndarray
    provenance: Provenance

    is_image = False

    def __post_init__(self) -> None:
        name = f"{self.dataset} (scenario {self.normal_class!r}, seed {self.seed})"
        problems = []
        if self.X.ndim != 2 or self.X.shape[0] == 0 or self.X.shape[1] == 0:
            problems.append(f"X must be a non-empty (N, d) array, got shape {self.X.shape}")
        elif not np.isfinite(self.X).all():
            problems.append("X holds NaN or infinite values")
        for part in ("y", "index", "segment"):
            if len(getattr(self, part)) != len(self.X):
                problems.append(f"{part} has {len(getattr(self, part))} entries for {len(self.X)}")
        if not set(np.unique(self.y)) <= {0, 1}:
            problems.append("labels must be 0 (normal) or 1 (anomaly)")
        if problems:
            raise DatasetError(f"{name}: invalid stream: " + "; ".join(problems))

    def __len__(self) -> int:
        return len(self.X)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def standardised(self, warmup: int) -> np.ndarray:
        """``X`` z-scored per feature with the mean/std of the first ``warmup`` samples only
        (a feature constant there is centred, not scaled); raw ``X`` (float32) when
        ``warmup`` is 0."""
        if warmup == 0:
            return self.X.astype(np.float32)
        return standardise(self.X[:warmup], self.X)[1]


def _order(rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    return rows[rng.permutation(len(rows))]


def _spread(rng: np.random.Generator, normals: np.ndarray, anomalies: np.ndarray) -> np.ndarray:
    """A seeded random order in which the anomalies are spread over the stream: the j-th of
    ``m`` anomalies (a random one) sits at a uniformly random place in the j-th of ``m`` equal
    slices, normals (in random order) everywhere else. So any warm-up prefix shorter than
    ``(m - 1) / m`` of the stream leaves anomalies to score (a plain permutation of a small
    stream can put every anomaly in the warm-up)."""
    n, m = len(normals) + len(anomalies), len(anomalies)
    bounds = np.floor(np.arange(m + 1) * n / m).astype(int)  # m non-empty slices (n >= m)
    slots = rng.integers(bounds[:-1], bounds[1:])
    out = np.empty(n, dtype=normals.dtype)
    is_anomaly = np.zeros(n, dtype=bool)
    is_anomaly[slots] = True
    out[is_anomaly] = _order(rng, anomalies)
    out[~is_anomaly] = _order(rng, normals)
    return out


def _anomalies(rng: np.random.Generator, pool: np.ndarray, n_normal: int) -> np.ndarray:
    """A seeded sample of ``pool`` making :data:`ANOMALY_SHARE` of a stream with ``n_normal``
    normals (at least one anomaly)."""
    want = max(1, round(ANOMALY_SHARE / (1 - ANOMALY_SHARE) * n_normal))
    return rng.choice(pool, min(want, len(pool)), replace=False)


def _embedded(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str, str]:
    X, y, classes, digest = embedded_arrays(name)
    import sklearn

    loader = sklearn_loader(name)
    return (
        X,
        y,
        classes,
        f"scikit-learn {sklearn.__version__} sklearn.datasets.{loader}",
        (
            f"{loader}:X(float64)+y(int64)",
            digest,
        ),
    )


def _label(classes: tuple[str, ...], normal_class: int | str) -> int:
    return classes.index(normal_class) if isinstance(normal_class, str) else int(normal_class)


_SPREAD_TEXT = (
    "with the anomalies spread over it (the j-th of m at a random place in the j-th of m "
    "equal slices)"
)
_ORDER_TEXT = (
    "raw features (z-scored by the prequential runner with the warm-up prefix's statistics "
    "only); labels never reach the detector"
)


def one_vs_rest_stream(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Stream:
    """Embedded set ``name``: ``normal_class``'s rows as normals, a seeded sample of the other
    classes' rows as anomalies (:data:`ANOMALY_SHARE`), in a seeded random order."""
    X, y, classes, source, (key, digest) = _embedded(name)
    label = _label(classes, normal_class)
    rng = np.random.default_rng(seed)
    normals = np.flatnonzero(y == label)
    rows = _spread(rng, normals, _anomalies(rng, np.flatnonzero(y != label), len(normals)))
    return Stream(
        dataset=f"stream-{name}",
        normal_class=normal_class,
        seed=seed,
        X=X[rows],
        y=(y[rows] != label).astype(np.int64),
        index=rows,
        segment=np.zeros(len(rows), dtype=np.int64),
        provenance=Provenance(
            protocol="stream-one-vs-rest",
            source=source,
            sha256={key: digest},
            preprocessing=f"every row of class {normal_class!r} plus a seeded sample of the "
            f"other classes' rows ({ANOMALY_SHARE:.0%} of the stream) as anomalies, in a "
            f"seeded random order (numpy default_rng(seed)) {_SPREAD_TEXT}; {_ORDER_TEXT}",
        ),
    )


def drift_stream(name: str, data_dir: Path, normal_class: int | str, seed: int) -> Stream:
    """Embedded set ``name`` with a change of normal class halfway; ``normal_class`` is
    ``"a-b"``: class ``a``'s rows then class ``b``'s, each half with anomalies from the other
    classes (:data:`ANOMALY_SHARE`) in a seeded random order."""
    X, y, classes, source, (key, digest) = _embedded(name)
    try:
        a, b = (int(c) for c in str(normal_class).split("-"))
    except ValueError:
        raise ValueError(
            f"a drift scenario is 'a-b' (two class labels), got {normal_class!r}"
        ) from None
    rng = np.random.default_rng(seed)
    pool = rng.permutation(np.flatnonzero((y != a) & (y != b)))
    halves, segments = [], []
    for part, label in enumerate((a, b)):
        normals = np.flatnonzero(y == label)
        n_anom = max(1, round(ANOMALY_SHARE / (1 - ANOMALY_SHARE) * len(normals)))
        anomalies, pool = pool[:n_anom], pool[n_anom:]  # no anomaly row used twice
        halves.append(_spread(rng, normals, anomalies))
        segments.append(np.full(len(halves[-1]), part, dtype=np.int64))
    rows = np.concatenate(halves)
    return Stream(
        dataset=f"stream-drift-{name}",
        normal_class=str(normal_class),
        seed=seed,
        X=X[rows],
        y=((y[rows] != a) & (y[rows] != b)).astype(np.int64),
        index=rows,
        segment=np.concatenate(segments),
        provenance=Provenance(
            protocol="stream-drift",
            source=source,
            sha256={key: digest},
            preprocessing=f"drift: class {a}'s rows then class {b}'s, each half with a seeded "
            f"sample of the other classes' rows ({ANOMALY_SHARE:.0%}) as anomalies and in a "
            f"seeded random order (numpy default_rng(seed)) {_SPREAD_TEXT}; {_ORDER_TEXT}",
        ),
    )


def labelled_stream(entry: object, data_dir: Path, normal_class: int | str, seed: int) -> Stream:
    """Every row of the ADBench file ``entry`` (verified like the batch protocols), in a
    seeded random order, with ADBench's labels (its own anomaly share)."""
    from datasets.adbench import adbench_source

    X, y, digest, url = adbench_source(entry, data_dir, None)  # type: ignore[arg-type]
    rows = _order(np.random.default_rng(seed), np.arange(len(y)))
    return Stream(
        dataset=f"stream-{entry.name}",  # type: ignore[attr-defined]
        normal_class=normal_class,
        seed=seed,
        X=np.asarray(X, dtype=np.float64)[rows],
        y=y[rows],
        index=rows,
        segment=np.zeros(len(rows), dtype=np.int64),
        provenance=Provenance(
            protocol="stream-labelled",
            source=url,
            sha256={entry.file: digest},  # type: ignore[attr-defined]
            preprocessing=f"every row in a seeded random order (numpy default_rng(seed)), "
            f"ADBench's labels; {_ORDER_TEXT}",
        ),
    )
