"""ADBench's classical sets as files: the shipped manifest (sha256-pinned) and the verified
arrays of one file, read once per process and file version. The protocols that split them are
in ``datasets.tabular``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from datasets.download import ensure_file, file_stamp, frozen
from datasets.errors import DatasetError

_MANIFEST = Path(__file__).with_name("adbench_manifest.json")
#: ADBench files that hold the ODDS set of PyOD's benchmark table, with PyOD's name for it; the
#: manifest's shape equals the table's for each. Left out: arrhythmia (not in ADBench), glass
#: (ADBench 7 features, ODDS 9), ionosphere (32 against 33) and wbc (ADBench's WBC is 223 x 9,
#: ODDS's 378 x 30).
PYOD_BENCHMARK_SETS: dict[str, str] = {
    "6_cardio.npz": "cardio",
    "20_letter.npz": "letter",
    "21_Lymphography.npz": "lympho",
    "24_mnist.npz": "mnist",
    "25_musk.npz": "musk",
    "26_optdigits.npz": "optdigits",
    "28_pendigits.npz": "pendigits",
    "29_Pima.npz": "pima",
    "30_satellite.npz": "satellite",
    "31_satimage-2.npz": "satimage-2",
    "32_shuttle.npz": "shuttle",
    "39_vertebral.npz": "vertebral",
    "40_vowels.npz": "vowels",
}


@dataclass(frozen=True)
class AdbenchFile:
    """One ADBench classical dataset as recorded in the shipped manifest."""

    file: str
    sha256: str | None
    bytes: int | None
    n: int | None
    d: int | None
    anomalies: int | None

    @property
    def name(self) -> str:
        """``adbench-`` + file stem minus its number, lowercased, non-alphanumerics as ``-``."""
        return "adbench-" + self.stem

    @property
    def stem(self) -> str:
        """The file stem minus its number, lowercased, non-alphanumerics as ``-``."""
        stem = self.file.removesuffix(".npz").split("_", 1)[1]
        return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


@lru_cache(maxsize=1)
def adbench_manifest() -> tuple[str, tuple[AdbenchFile, ...]]:
    """The URL template (with the pinned commit) and every file of the shipped manifest."""
    raw = json.loads(_MANIFEST.read_text())
    return raw["url_template"], tuple(AdbenchFile(**f) for f in raw["files"])


@lru_cache(maxsize=4)
def _adbench_arrays(
    entry: AdbenchFile, url: str, path: Path, stamp: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Verified ``X``, ``y`` and sha256 of one ADBench file, read once per process and version."""
    digest = ensure_file(entry.name, url, path, sha256=entry.sha256)
    with np.load(path, allow_pickle=False) as npz:
        X, y = npz["X"], npz["y"]
    if (
        X.shape != (entry.n, entry.d)
        or y.shape != (entry.n,)
        or int((y != 0).sum()) != entry.anomalies
    ):
        raise DatasetError(
            f"{entry.name}: {path} holds X {X.shape}, y {y.shape}, "
            f"{int((y != 0).sum())} anomalies; "
            f"the manifest says ({entry.n}, {entry.d}) with {entry.anomalies} anomalies. "
            "The shipped manifest (datasets/adbench_manifest.json) needs fixing."
        )
    return (*frozen(X, y), digest)


def adbench_source(
    entry: AdbenchFile, data_dir: Path, url_template: str | None
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Verified ``X``, 0/1 ``y``, sha256 and URL of ``<data_dir>/adbench/<file>``."""
    default_template, _ = adbench_manifest()
    url = (url_template or default_template).format(file=entry.file)
    path = Path(data_dir) / "adbench" / entry.file
    if entry.sha256 is None:
        raise DatasetError(
            f"{entry.name}: {entry.file} has no recorded sha256, so it cannot be verified and is "
            "not loaded. To use it, download it from "
            f"{url}, check it, and add its sha256, size and shape to "
            "datasets/adbench_manifest.json."
        )
    X, y, digest = _adbench_arrays(entry, url, path, file_stamp(path))
    return X, (y != 0).astype(np.int64), digest, url

