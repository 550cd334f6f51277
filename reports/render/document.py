"""The report being written: Markdown lines, plus the directories its tables and figures go to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reports.render.table import Table


@dataclass
class Document:
    """Markdown being written plus the directories its tables and figures go to."""

    out_dir: Path
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, table: Table, name: str, caption: str) -> None:
        """The table in Markdown, and in ``tables/<name>.tex``."""
        self.add(table.markdown(), "")
        self.latex([table], name, caption)

    def latex(self, parts: list[Table], name: str, caption: str | list[str]) -> None:
        """``tables/<name>.tex``: one float per part (a table split to fit the column), with
        one caption for all or one per part."""
        path = self.out_dir / "tables" / f"{name}.tex"
        path.parent.mkdir(parents=True, exist_ok=True)
        captions = caption if isinstance(caption, list) else [caption] * len(parts)
        text = []
        for k, t in enumerate(parts):
            more = f" (part {k + 1} of {len(parts)})" if isinstance(caption, str) else ""
            more = more if len(parts) > 1 else ""
            label = f"tab:{name}" + (f"-{k + 1}" if len(parts) > 1 else "")
            text.append(t.latex(captions[k] + more, label))
        path.write_text("\n".join(text))

    def figure(self, paths: list[Path], caption: str) -> None:
        rel = paths[0].relative_to(self.out_dir).as_posix()
        self.add(f"![{caption}]({rel})", "", f"*{caption}* (PDF: `{rel[:-4]}.pdf`)", "")


def anchor(title: str) -> str:
    """The GitHub-style anchor of a Markdown heading."""
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return "#" + keep.replace(" ", "-")


def slug(name: str) -> str:
    """``name`` with every character but letters and digits as ``_`` (file names)."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)
