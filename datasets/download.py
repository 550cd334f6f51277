"""Verified downloads: stream to a temporary file, check it, then move it into place.

A file that fails its check is never used: it is moved aside to ``<file>.corrupt`` (then
``.corrupt.1``, ``.corrupt.2``, ...: earlier rejects are kept) so that the next attempt
downloads it again. In a read-only data directory (a shared mirror) nothing is ever moved
or written: a missing or bad file is reported, and left as it is. Loaders read a verified file
once per file version (:func:`file_stamp`) and share the arrays read-only (:func:`frozen`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

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
    """Raise :class:`DatasetError` unless ``path`` passes ``check`` and matches ``sha256``
    (the content check first: it says what is wrong, where a hash only says that it is)."""
    if check is not None:
        check(path)
    try:
        actual = sha256_file(path)
    except OSError as err:
        raise DatasetError(f"{dataset}: cannot read {path} ({err.strerror}).") from None
    if sha256 is not None and actual != sha256:
        raise DatasetError(f"{dataset}: {path.name} has sha256 {actual}, expected {sha256}.")
    return actual


def writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or, when it does not exist yet, in the
    nearest existing folder above it)."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def _aside(dest: Path) -> Path:
    """``<dest>.corrupt``, or ``.corrupt.<n>`` for the first n not taken: never overwrite."""
    bad, n = dest.with_name(dest.name + ".corrupt"), 0
    while bad.exists():
        n += 1
        bad = dest.with_name(f"{dest.name}.corrupt.{n}")
    return bad


def _reject(err: DatasetError, path: Path, dest: Path) -> DatasetError:
    """Move a rejected file aside (keeping earlier rejects) and return the error to raise."""
    bad = _aside(dest)
    try:
        os.replace(path, bad)
    except OSError as move:
        return DatasetError(f"{err} It could not be moved aside ({move.strerror}); remove it.")
    return DatasetError(
        f"{err} The file was moved to {bad} and will not be used; run again to download it afresh."
    )


def _read_only(dataset: str, url: str, dest: Path, sha256: str | None) -> DatasetError:
    return DatasetError(
        f"{dataset}: {dest} is missing and the data directory is read-only, so it cannot be "
        f"downloaded there. Add it to the mirror ({url}"
        + (f", sha256 {sha256}" if sha256 else "")
        + ") or pass a writable --data-dir."
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
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as err:
        if not writable(dest.parent):
            raise _read_only(dataset, url, dest, sha256) from None
        raise DatasetError(f"{dataset}: cannot write in {dest.parent} ({err.strerror}).") from None
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
    try:
        os.replace(tmp, dest)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"{dataset}: cannot move the download to {dest} ({err}).") from None
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

    An existing ``dest`` that fails verification is moved aside and downloaded again; in a
    read-only directory it is left in place and reported, and nothing is downloaded.
    """
    if dest.is_file():
        try:
            return _check(dataset, dest, sha256, check)
        except DatasetError as err:
            if not writable(dest.parent):
                raise DatasetError(
                    f"{err} The data directory is read-only, so the file was left in place and "
                    f"nothing was downloaded: replace it from {url} or pass a writable "
                    "--data-dir."
                ) from None
            rejected = _reject(err, dest, dest)
            try:
                return fetch(dataset, url, dest, sha256=sha256, check=check)
            except DatasetError as failed:
                raise DatasetError(f"{rejected} Re-downloading failed: {failed}") from None
    if not writable(dest.parent):
        raise _read_only(dataset, url, dest, sha256)
    return fetch(dataset, url, dest, sha256=sha256, check=check)


def file_stamp(path: Path) -> tuple[int, int] | None:
    """A cache key that changes when the file is replaced (mtime, size), or None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only (a cached array is shared by every caller)."""
    for a in arrays:
        a.flags.writeable = False
    return arrays

