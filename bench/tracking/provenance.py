"""Provenance of every run: package versions, code version, host, CPU and memory."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from core import schema

PACKAGES = ("torch", "torchvision", "pyod", "mlflow", "numpy", "scikit-learn", "memray", "ray")


def environment_tags() -> dict[str, str]:
    """Package versions, code version and host: the same for every run of one sweep (a
    copy: the values are read once per process)."""
    return dict(_environment_tags())


@cache
def _environment_tags() -> dict[str, str]:
    tags = {
        schema.TAG_VERSION: _version("ff-oneclass-bench"),
        schema.TAG_SCHEMA: schema.SCHEMA_VERSION,
        schema.TAG_HOST: platform.node(),
        schema.TAG_CPU: _cpu_name(),
        schema.TAG_OS: platform.platform(),
        f"{schema.TAG_VERSION_PREFIX}python": platform.python_version(),
    }
    with contextlib.suppress(ValueError, OSError, AttributeError):  # not POSIX: no RAM tag
        tags[schema.TAG_RAM] = str(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for package in PACKAGES:
        version = _version(package)
        if version:
            tags[f"{schema.TAG_VERSION_PREFIX}{package}"] = version
    commit = git_commit()
    if commit:
        tags[schema.TAG_GIT_COMMIT] = commit
    return tags


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def git_commit() -> str:
    """HEAD of the checkout this code runs from, ``+dirty`` when it has local changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""
