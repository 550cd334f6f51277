"""The one exception type for user-facing data problems."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset cannot be loaded or fails its checks; the message names it and says what to do."""
