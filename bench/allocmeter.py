"""A malloc-level heap meter for worker processes, preloaded with ``LD_PRELOAD``.

``allocmeter.c`` wraps the malloc family and keeps the live bytes and their high-water
mark; reading and resetting them costs nanoseconds, where a ``memray.Tracker`` costs about
0.2 s to start and stop in a process that has loaded torch. Workers started by the local
executor get it when a C compiler is at hand; everywhere else ``bench.meters`` falls back to
memray. Linux (glibc) only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import platformdirs

SOURCE = Path(__file__).with_name("allocmeter.c")


@cache
def library() -> Path | None:
    """The compiled meter (built once per source version into the user cache), or None."""
    if not sys.platform.startswith("linux") or not SOURCE.exists():
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        return None
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = Path(platformdirs.user_cache_dir("ff-oneclass-bench")) / f"allocmeter-{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    build = [compiler, "-O2", "-shared", "-fPIC", "-o", str(partial), str(SOURCE)]
    try:
        subprocess.run(build, check=True, capture_output=True, timeout=60)
        partial.replace(target)
    except (OSError, subprocess.SubprocessError):
        partial.unlink(missing_ok=True)
        return None
    return target


def preload_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the meter added to ``LD_PRELOAD`` (unchanged when it cannot be built)."""
    path = library()
    if path is None or str(path) in env.get("LD_PRELOAD", ""):
        return env
    preload = " ".join(p for p in (str(path), env.get("LD_PRELOAD", "")) if p)
    return {**env, "LD_PRELOAD": preload}


class HeapMeter:
    """The preloaded meter of this process: live heap bytes and their peak since reset."""

    def __init__(self, lib: ctypes.CDLL):
        self._current, self._peak = lib.bench_alloc_current, lib.bench_alloc_peak
        self._current.restype = self._peak.restype = ctypes.c_longlong
        self._reset = lib.bench_alloc_reset_peak

    def start(self) -> int:
        """Reset the peak to the live bytes now; returns them."""
        self._reset()
        return int(self._current())

    def peak(self) -> int:
        return int(self._peak())


@cache
def active() -> HeapMeter | None:
    """The meter when this process was started with it preloaded, else None."""
    process = ctypes.CDLL(None)
    if not hasattr(process, "bench_alloc_peak"):
        return None
    return HeapMeter(process)
