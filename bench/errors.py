"""The two kinds of one-line errors the CLI prints instead of a traceback.

Kept free of heavy imports, so the CLI can catch them before torch, PyOD or MLflow load.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line input (a name, a value, a path given on the command line): exit 2."""


class StoreError(Exception):
    """The tracking store cannot be used (unreachable, read-only, damaged): exit 1."""
