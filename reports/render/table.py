"""Tables as data (header, text cells, bold marks), rendered to Markdown and LaTeX booktabs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reports.analysis.frames import MISSING
from reports.render.formats import BELOW_CHANCE, INCOMPLETE, PLUS_MINUS

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {
    PLUS_MINUS: r" $\pm$ ",
    INCOMPLETE: r"$^\dagger$",
    BELOW_CHANCE: r"$^\ddagger$",
    MISSING: "--",
    "×": r"$\times$",
    "Δ": r"$\Delta$",
    "−": "$-$",
    "≈": r"$\approx$",
}


@dataclass
class Table:
    """A rectangular table of already formatted cells; ``bold`` holds (row, column) indices."""

    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)
    rules: set[int] = field(default_factory=set)  # a \midrule before these rows (families)
    rotate: set[int] = field(default_factory=set)  # header cells set sideways in LaTeX
    spec: str = ""  # LaTeX column spec; default: l for text, r for numbers
    wide: bool | None = None  # table* across both columns; None: only when a column is too narrow
    latex_drop: set[int] = field(default_factory=set)  # columns left out of LaTeX (in caption)

    def markdown(self) -> str:
        """GitHub pipe table, bold as ``**x**``."""

        def cell(i: int, j: int, text: str) -> str:
            return f"**{text}**" if (i, j) in self.bold else text

        lines = [
            "| " + " | ".join(self.header) + " |",
            "|" + "|".join("---" for _ in self.header) + "|",
        ]
        lines += [
            "| " + " | ".join(cell(i, j, t) for j, t in enumerate(r)) + " |"
            for i, r in enumerate(self.rows)
        ]
        return "\n".join(lines)

    def latex(self, caption: str, label: str) -> str:
        """A booktabs ``table`` (``table*`` when ``wide``) at 8 pt, bold as ``\\textbf``.

        Needs ``\\usepackage{booktabs,graphicx}``; sized to fit a 10 pt two-column column.
        """

        def cell(i: int, j: int, text: str) -> str:
            t = latex_text(text)
            return rf"\textbf{{{t}}}" if (i, j) in self.bold else t

        def head(j: int, text: str) -> str:
            t = latex_text(text)
            return rf"\rotatebox{{90}}{{{t}}}" if j in self.rotate else t

        keep = [j for j in range(len(self.header)) if j not in self.latex_drop]
        spec = self._spec(keep)
        body = []
        for i, r in enumerate(self.rows):
            if i in self.rules and i:
                body.append(r"\midrule")
            body.append(" & ".join(cell(i, j, r[j]) for j in keep) + r" \\")
        wide = self.wide if self.wide is not None else self.width_pt() > COLUMN_PT
        env = "table*" if wide else "table"
        return "\n".join(
            [
                rf"\begin{{{env}}}[t]",
                r"\centering",
                r"\footnotesize",
                r"\setlength{\tabcolsep}{3pt}",
                rf"\caption{{{latex_text(caption)}}}",
                rf"\label{{{label}}}",
                rf"\begin{{tabular}}{{{spec}}}",
                r"\toprule",
                " & ".join(head(j, self.header[j]) for j in keep) + r" \\",
                r"\midrule",
                *body,
                r"\bottomrule",
                r"\end{tabular}",
                rf"\end{{{env}}}",
                "",
            ]
        )

    def _spec(self, keep: list[int]) -> str:
        if self.spec:
            return "".join(_split_spec(self.spec)[j] for j in keep)
        return "".join("r" if j and self._numeric(j) else "l" for j in keep)

    def width_pt(self) -> float:
        """Estimated natural width of the LaTeX tabular at 8 pt with 3 pt column padding."""
        keep = [j for j in range(len(self.header)) if j not in self.latex_drop]
        specs = _split_spec(self._spec(keep))
        total = 0.0
        for k, j in enumerate(keep):
            fixed = re.search(r"p\{([\d.]+)(cm|pt)", specs[k])
            if fixed:
                total += float(fixed.group(1)) * (CM_PT if fixed.group(2) == "cm" else 1)
            else:
                texts = [r[j] for r in self.rows]
                if j not in self.rotate:
                    texts.append(self.header[j])
                total += max((text_width_pt(t) for t in texts), default=0.0)
            total += 2 * COLSEP_PT
        return total

    def _numeric(self, j: int) -> bool:
        """True when every cell of column ``j`` is a number (or missing): right-aligned."""
        return all(r[j] == MISSING or r[j].lstrip("-")[:1].isdigit() for r in self.rows)


COLUMN_PT = 229.5  # \\columnwidth of a 10 pt two-column article (letter paper)
TEXT_PT = 469.0  # \\textwidth of the same
CM_PT = 28.45
COLSEP_PT = 3.0
# Widths at 8 pt (Computer Modern, T1), in points, erring wide: digits 4.0, most letters
# 4.0-4.4, capitals and symbols wider.
_NARROW = set("iljtfr.,:;'|!()[]-")


def text_width_pt(text: str) -> float:
    """Estimated width of ``text`` set at 8 pt (an upper estimate for lower-case text)."""
    width = 0.0
    for ch in text:
        if ch in (INCOMPLETE, BELOW_CHANCE):
            width += 3.5
        elif ch in _NARROW:
            width += 2.6
        elif ch.isupper() or ch in "±×≈−ΔmwMW%":
            width += 6.2
        else:
            width += 4.3
    return width


def _split_spec(spec: str) -> list[str]:
    """Column specs of a tabular spec: l, r, c, or [>{...}]p{...}."""
    out, i = [], 0
    while i < len(spec):
        j = i
        if spec[j] == ">":
            depth, j = 0, j + 1
            while True:
                depth += {"{": 1, "}": -1}.get(spec[j], 0)
                j += 1
                if depth == 0:
                    break
        if spec[j] in "pmb":
            j = spec.index("}", j) + 1
        else:
            j += 1
        out.append(spec[i:j])
        i = j
    return out


def latex_text(text: str) -> str:
    """Escape LaTeX specials, then spell the few symbols the tables use."""
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return out


NAME_MAX_CM = 2.3  # longer detector names wrap at their hyphens


def name_spec(names: list[str]) -> str:
    """A left column as wide as the longest name, at most ``NAME_MAX_CM`` (then wrapping)."""
    cm = min(NAME_MAX_CM, max((text_width_pt(n) for n in names), default=0) / CM_PT)
    return rf">{{\raggedright\arraybackslash\hspace{{0pt}}}}p{{{cm:.2f}cm}}"
