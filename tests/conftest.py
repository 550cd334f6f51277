"""Test-session setup: ``bench`` is imported before torch, as the CLI and its workers do, so
every test sees the library settings it makes (``MKL_DISABLE_FAST_MM``, read when MKL loads)
whichever test file happens to run first."""

import bench  # noqa: F401
