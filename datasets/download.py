"""Verified downloads: stream to a temporary file, check it, then move it into place.

A file that fails its check is never used: it is moved aside to ``<file>.corrupt`` so that
the next attempt downloads it again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from datasets.errors import DatasetError

#: Seconds a connection attempt or a read may stall before a download is given up.
TIMEOUT_S = 15.0
_CHUNK = 1 << 20

#: Called with a downloaded file; raises ``DatasetError`` when its content is wrong.
ContentCheck = Callable[[Path], object]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(dataset: str, url: str, dest: Path, sha256: str | None) -> str:
    expected = f" (its sha256 must be {sha256})" if sha256 else ""
    return (
        f"To place it by hand, download {url} on a machine with internet access and copy it to "
        f"{dest}{expected}. The data directory is {dest.parent.parent} "
        "(set BENCH_DATA_DIR to use another one)."
    )


def _check(dataset: str, path: Path, sha256: str | None, check: ContentCheck | None) -> str:
    """Raise :class:`DatasetError` unless ``path`` matches ``sha256`` and passes ``check``."""
    actual = sha256_file(path)
    if sha256 is not None and actual != sha256:
        raise DatasetError(f"{dataset}: {path.name} has sha256 {actual}, expected {sha256}.")
    if check is not None:
        check(path)
    return actual


def _reject(err: DatasetError, path: Path, dest: Path) -> DatasetError:
    """Move a rejected file to ``<dest>.corrupt`` and return the error to raise."""
    bad = dest.with_name(dest.name + ".corrupt")
    os.replace(path, bad)
    return DatasetError(
        f"{err} The file was moved to {bad} and will not be used; run again to download it afresh."
    )


def fetch(
    dataset: str,
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    check: ContentCheck | None = None,
) -> str:
    """Download ``url`` to ``dest`` (``<data_dir>/<folder>/<file>``), verify it, return its sha256.

    The bytes go to a temporary file beside ``dest`` and only a verified file is renamed to
    ``dest``, so concurrent workers and interrupted downloads never see a half-written file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "ff-oneclass-bench"})
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
    except (OSError, ValueError) as err:  # URLError, timeouts, refused connections, bad URLs
        tmp.unlink(missing_ok=True)
        raise DatasetError(
            f"{dataset}: could not download {url} ({err}). "
            + _manual_hint(dataset, url, dest, sha256)
        ) from None
    try:
        digest = _check(dataset, tmp, sha256, check)
    except DatasetError as err:
        raise _reject(err, tmp, dest) from None
    os.replace(tmp, dest)
    return digest


def ensure_file(
    dataset: str,
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    check: ContentCheck | None = None,
) -> str:
    """Return the sha256 of a verified ``dest``, downloading it first when absent.

    An existing ``dest`` that fails verification is moved aside and downloaded again.
    """
    if dest.is_file():
        try:
            return _check(dataset, dest, sha256, check)
        except DatasetError as err:
            rejected = _reject(err, dest, dest)
            try:
                return fetch(dataset, url, dest, sha256=sha256, check=check)
            except DatasetError as failed:
                raise DatasetError(f"{rejected} Re-downloading failed: {failed}") from None
    return fetch(dataset, url, dest, sha256=sha256, check=check)
