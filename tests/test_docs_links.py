"""Every markdown link and ``#anchor`` in README.md and docs/*.md resolves (GitHub's slugs).

Run as a script (``python tests/test_docs_links.py``) it prints each broken link.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r" {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r" *(```|~~~)")


def documents() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code spans blanked."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        opened = FENCE.match(line)
        if opened:
            fence = None if fence == opened.group(1) else fence or opened.group(1)
            continue
        if fence is None:
            out.append((number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed
    (letters, marks, digits, ``_``, ``-`` and spaces kept), each space a ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = (c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings; a repeated slug gets ``-1``, ``-2``..."""
    seen: dict[str, int] = {}
    out = set()
    fence = None
    for line in path.read_text().splitlines():
        opened = FENCE.match(line)
        if opened:
            fence = None if fence == opened.group(1) else fence or opened.group(1)
            continue
        match = HEADING.fullmatch(line) if fence is None else None
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every inline link or image of a page."""
    return [
        (number, match.group(1))
        for number, line in prose_lines(path.read_text())
        for match in LINK.finditer(line)
    ]


def broken_links() -> list[str]:
    """Every link that names a missing file or an anchor no heading of its page has."""
    problems = []
    for page in documents():
        for number, target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            where = f"{page.relative_to(ROOT)}:{number}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no such file")
            elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
                problems.append(f"{where}: no heading with anchor #{anchor}")
    return problems


def test_slug_follows_github():
    assert slug("Deep SVDD as published (`dsvdd-*`)") == "deep-svdd-as-published-dsvdd-"
    assert slug("Your own detectors and datasets (plugins)") == (
        "your-own-detectors-and-datasets-plugins"
    )
    assert slug("Online (streaming) protocol") == "online-streaming-protocol"
    assert slug("Tracking: what a run records") == "tracking-what-a-run-records"


def test_headings_in_code_blocks_are_not_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```bash\n# a comment\n```\n\n## Title\n")
    assert anchors(page) == {"title", "title-1"}


def test_every_link_and_anchor_resolves():
    assert broken_links() == []


def test_readme_links_every_docs_page():
    linked = {
        (ROOT / target.partition("#")[0]).resolve() for _, target in links(ROOT / "README.md")
    }
    assert [p.name for p in documents()[1:] if p.resolve() not in linked] == []


if __name__ == "__main__":
    found = broken_links()
    print("\n".join(found) or "every link resolves")
    sys.exit(1 if found else 0)
