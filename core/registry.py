"""One generic registry: named entries, duplicate refusal, wildcard listing, "did you mean"."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name (or pattern) matched no registered entry."""

    def __init__(self, kind: str, name: str, suggestions: list[str]):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} (list them with `python -m bench list`)")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class Registry(Generic[T]):
    """Named entries of one kind, in registration order."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; a second entry of the same name is an error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.suggest(name)) from None

    def suggest(self, name: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(name, self._entries, n=n, cutoff=0.5)

    def names(self, pattern: str = "*") -> list[str]:
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def select(self, patterns: Iterable[str]) -> list[str]:
        """Names matching any of ``patterns`` (exact names or globs), in registry order.

        A pattern that matches nothing raises :class:`UnknownNameError` with suggestions.
        """
        chosen: set[str] = set()
        for pattern in patterns:
            hits = self.names(pattern)
            if not hits:
                raise UnknownNameError(self.kind, pattern, self.suggest(pattern))
            chosen.update(hits)
        return [n for n in self._entries if n in chosen]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())
