"""Test-session setup: ``bench`` is imported before torch, as the CLI and its workers do, so
every test sees the library settings it makes (``MKL_DISABLE_FAST_MM``, read when MKL loads)
whichever test file happens to run first.

Fixtures: ``crashers`` (the path of ``tests/plugins/crashers.py``, the detectors that fail on
purpose, for ``--include``), with the registries restored afterwards, so that later tests see
only the built-ins (``isolated_registries``, ``isolated_registries_module``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import bench  # noqa: F401

CRASHERS = Path(__file__).parent / "plugins" / "crashers.py"


def _restoring() -> Iterator[None]:
    """Plugins registered in this process meanwhile are removed afterwards."""
    from bench import plugins
    from bench.detectors import DETECTORS
    from datasets import DATASETS

    saved = (
        dict(DETECTORS._entries),
        dict(DATASETS._entries),
        dict(plugins.ORIGIN),
        dict(plugins._included),
    )
    yield
    for registry, entries in zip((DETECTORS, DATASETS), saved[:2], strict=True):
        registry._entries.clear()
        registry._entries.update(entries)
    plugins.ORIGIN.clear()
    plugins.ORIGIN.update(saved[2])
    plugins._included.clear()
    plugins._included.update(saved[3])


@pytest.fixture
def isolated_registries() -> Iterator[None]:
    """Plugins registered by the test are removed afterwards."""
    yield from _restoring()


@pytest.fixture(scope="module")
def isolated_registries_module() -> Iterator[None]:
    """Plugins registered by the module's tests are removed after the module."""
    yield from _restoring()


@pytest.fixture(scope="module")
def crashers(isolated_registries_module: None) -> str:
    """``tests/plugins/crashers.py`` for ``--include`` (``test-crash``, ``test-die``,
    ``test-stream-crash``); what it registers here is removed after the module."""
    return str(CRASHERS)
