"""The house in layers, read from the source with ``ast`` (no import runs).

Rooms, lowest first: ``core`` (registry, run schema and metric table, detector contract);
``datasets``, ``ff``, ``baselines`` (side by side: none imports another); the harness
``bench``; ``reports`` beside it (it reads runs, never the harness), in three layers:
analysis < rendering < sections; the Python API (``bench.api``) above both; the CLI
(``bench.cli``, ``bench.__main__``) on top, parsing into API calls. A module imports its own
room or a room listed below it, nothing else; no import cycle; no package module over 300
lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "datasets", "ff", "baselines", "bench", "reports")
MAX_LINES = 300
_LOW = {"core", "datasets", "ff", "baselines"}
BELOW: dict[str, set[str]] = {
    "core": set(),
    "datasets": {"core"},
    "ff": {"core"},
    "baselines": {"core"},
    "bench": _LOW,
    "reports.analysis": {"core"},
    "reports.render": {"core", "reports.analysis"},
    "reports": {"core", "reports.analysis", "reports.render"},
    "api": {*_LOW, "bench", "reports.analysis", "reports.render", "reports"},
    "cli": {*_LOW, "bench", "reports.analysis", "reports.render", "reports", "api"},
}


def room(module: str) -> str:
    """The room of a module: its package, a layer of ``reports``, or the API / the CLI."""
    if module == "bench.api":
        return "api"
    if module in ("bench.cli", "bench.__main__"):
        return "cli"
    parts = module.split(".")
    if parts[0] == "reports" and len(parts) > 1 and parts[1] in ("analysis", "render"):
        return f"reports.{parts[1]}"
    return parts[0]


def modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package under its own name)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere in it (functions too): ``from p import m``
    names module ``p.m`` when that is a module, else ``p``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m.split(".")[0] in PACKAGES and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, name, set(mods)) for name, path in mods.items()}


def test_every_import_goes_down_or_stays_in_its_room(graph):
    wrong = sorted(
        f"{name} ({room(name)}) imports {target} ({room(target)})"
        for name, targets in graph.items()
        for target in targets
        if room(target) != room(name) and room(target) not in BELOW[room(name)]
    )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle(graph):
    """Depth-first search for a back edge; names the cycle it finds."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_package_module_over_300_lines():
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_the_layer_map_knows_every_package_module(graph):
    assert all(name.split(".")[0] in PACKAGES for name in graph)
    assert {"core.registry", "core.schema", "core.contract"} <= set(graph)
