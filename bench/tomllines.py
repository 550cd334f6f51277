"""Where each key of a TOML text is set: :mod:`tomllib` gives values, not lines, and a sweep
file's errors name the line."""

from __future__ import annotations

import re


def _split_key(text: str) -> tuple[str, ...]:
    """A dotted TOML key (``a."b.c".d``) as its parts."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(a or b or c for a, b, c in parts)


def _depth(text: str) -> int:
    """Brackets opened minus closed in ``text``, outside strings and comments."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", text).split("#", 1)[0]
    return text.count("[") + text.count("{") - text.count("]") - text.count("}")


def locate(text: str) -> dict[tuple[str, ...], int]:
    """The line (1-based) of every table header and key of a TOML text, by full key path."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = 0
    header = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
    assign = re.compile(r"""^\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-.\s])+?)\s*=(.*)$""")
    for number, line in enumerate(text.splitlines(), 1):
        if depth > 0:  # inside a multi-line array or inline table
            depth += _depth(line)
            continue
        if m := header.match(line):
            table = _split_key(m.group(1))
            for n in range(1, len(table) + 1):
                lines.setdefault(table[:n], number)
        elif m := assign.match(line):
            key = table + _split_key(m.group(1))
            for n in range(len(table) + 1, len(key) + 1):
                lines.setdefault(key[:n], number)
            depth = max(0, _depth(m.group(2)))
    return lines
