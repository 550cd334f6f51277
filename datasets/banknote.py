"""UCI banknote authentication, the FF one-class paper's protocol (a downloaded, pinned file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from datasets.download import ensure_file, file_stamp, frozen
from datasets.errors import DatasetError
from datasets.preprocessing import STANDARDISED, standardise
from datasets.split import Provenance, Split, train_test_split

BANKNOTE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00267/"
    "data_banknote_authentication.txt"
)
BANKNOTE_FILE = "data_banknote_authentication.txt"
#: sha256 of the UCI file (1372 rows), pinned like the ADBench files: a changed value is refused.
BANKNOTE_SHA256 = "564ac22b61d87388b1662adee2867e5d382aae78afb0bf5d6745c1a843174b8e"


def _parse_banknote(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise DatasetError(
            f"banknote: {path} is not a comma-separated table of numbers ({err})."
        ) from None
    bad = np.argwhere(~np.isfinite(table))
    if len(bad):
        row, col = (int(i) for i in bad[0])
        raise DatasetError(
            f"banknote: {path} row {row + 1}, column {col + 1} is {table[row, col]} "
            f"({len(bad)} non-finite value(s) in all); every value must be a finite number."
        )
    X, y = table[:, :4], table[:, -1]
    counts = [int((y == c).sum()) for c in (0, 1)]
    if table.shape != (1372, 5) or counts != [762, 610]:
        raise DatasetError(
            f"banknote: {path} has shape {table.shape} with {counts} rows of class 0/1; expected "
            "(1372, 5) with 762 genuine (0) and 610 forged (1) rows and finite features."
        )
    return X, y.astype(np.int64)


@lru_cache(maxsize=1)
def _banknote_arrays(
    url: str, path: Path, stamp: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Content-checked banknote table, read once per process and file version."""
    digest = ensure_file("banknote", url, path, sha256=BANKNOTE_SHA256, check=_parse_banknote)
    return (*frozen(*_parse_banknote(path)), digest)


def load_banknote(
    data_dir: Path, normal_class: int, seed: int, *, url: str = BANKNOTE_URL
) -> Split:
    """The FF one-class paper's protocol on ``<data_dir>/uci/<file>`` (downloaded if absent).

    Stratified, seeded 60/20/20 train/val/test split; the model trains on the genuine notes
    (class 0) of the train part and is tested on the whole test part. The val part is not used.
    """
    path = Path(data_dir) / "uci" / BANKNOTE_FILE
    X, y, digest = _banknote_arrays(url, path, file_stamp(path))
    rows = np.arange(len(y))
    train, rest = train_test_split(rows, test_size=0.4, stratify=y, random_state=seed)
    _val, test = train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=seed)
    train_idx = np.sort(train[y[train] == normal_class])
    test_idx = np.sort(test)
    X_train, X_test = standardise(X[train_idx], X[test_idx])
    return Split(
        dataset="banknote",
        normal_class=normal_class,
        seed=seed,
        X_train=X_train,
        X_test=X_test,
        y_test=(y[test_idx] != normal_class).astype(np.int64),
        train_idx=train_idx,
        test_idx=test_idx,
        feature_shape=(4,),
        provenance=Provenance(
            protocol="ff-paper-banknote-60-20-20",
            source=url,
            sha256={BANKNOTE_FILE: digest},
            preprocessing="stratified 60/20/20 train/val/test split (sklearn train_test_split, "
            "random_state=seed); train on the genuine notes (class 0) of the train part; the "
            f"val part is not used for training or selection; {STANDARDISED}",
        ),
    )
