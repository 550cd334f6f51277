"""Figures drawn at their printed size: one column (3.3 in) wide, or 7.1 in where a figure
deliberately spans both columns; text 8 pt; the Okabe-Ito colour-blind-safe palette with a
marker shape per family, so no distinction rests on colour alone. Each saved as PNG and PDF.

``OVERLAPS`` records, per figure saved, the pairs of text labels whose boxes overlap (the
tests require none).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

COLUMN_WIDTH_IN = 3.3
TEXT_WIDTH_IN = 7.1
FONT_PT = 8
STYLE = {
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "axes.linewidth": 0.6,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FAMILY_STYLE = {
    "ff": ("#0072B2", "o", "-"),
    "bp": ("#D55E00", "s", "--"),
    "bpl": ("#E69F00", "^", "-."),
    "ref": ("#000000", "D", ":"),
    "pyod": ("#009E73", "v", "-"),
}
OTHER_STYLE = ("#CC79A7", "P", "-")
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
OVERLAPS: dict[str, list[tuple[str, str]]] = {}


def family_style(family: str) -> tuple[str, str, str]:
    """(colour, marker, line style) of a family."""
    return FAMILY_STYLE.get(family, OTHER_STYLE)


# the members of a pair that share family bp (the same function, trained with less memory)
# keep its colour, each with a marker and line style of its own
METHOD_STYLE = {
    "bp-ckpt": ("D", (0, (3, 1, 1, 1))),
    "bp-ckpt-each": ("d", (0, (1, 1))),
    "bp-accum": ("P", (0, (5, 2))),
}


def method_style(method: str, family: str) -> tuple[str, str, object]:
    """(colour, marker, line style) of a method (a detector less its objective and arch):
    its family's colour, and the family's marker and line unless the method has its own."""
    colour, marker, line = family_style(family)
    own = METHOD_STYLE.get(method)
    return (colour, *own) if own else (colour, marker, line)


def _hidden_ticks(fig: Figure, renderer) -> set[int]:
    """Tick labels matplotlib keeps but does not draw (outside the axis' view limits)."""
    out = set()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        if not ax.axison:
            labels = ax.get_xticklabels(which="both") + ax.get_yticklabels(which="both")
            out |= {id(lab) for lab in labels}
            continue
        for lab in ax.get_xticklabels() + ax.get_xticklabels(minor=True):
            b = lab.get_window_extent(renderer)
            if not box.x0 - 1 <= (b.x0 + b.x1) / 2 <= box.x1 + 1:
                out.add(id(lab))
        for lab in ax.get_yticklabels() + ax.get_yticklabels(minor=True):
            b = lab.get_window_extent(renderer)
            if not box.y0 - 1 <= (b.y0 + b.y1) / 2 <= box.y1 + 1:
                out.add(id(lab))
    return out


def _texts(fig: Figure) -> list[tuple[str, object]]:
    renderer = FigureCanvasAgg(fig).get_renderer()
    hidden = _hidden_ticks(fig, renderer)
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0 and id(t) not in hidden:
            out.append((t.get_text(), t.get_window_extent(renderer)))
    return out


def text_overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible texts whose boxes overlap by more than half a point, and texts that
    reach outside the figure (paired with "outside the figure")."""
    boxes = _texts(fig)
    pad = 0.5 * fig.dpi / 72
    w, h = fig.bbox.width, fig.bbox.height
    out = [
        (a, "outside the figure")
        for a, b in boxes
        if b.x0 < -pad or b.y0 < -pad or b.x1 > w + pad or b.y1 > h + pad
    ]
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        if (
            min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > pad
            and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > pad
        ):
            out.append((a, b))
    return out


def new(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Save at the figure's own size (no tight bounding box: the PDF is as wide as drawn)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig).draw()
    OVERLAPS[name] = text_overlaps(fig)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=300)
    fig.savefig(paths[1])
    return paths


def axis_scale(ax, axis: str, values: pd.Series) -> None:
    """Log scale (ticks 1, 2, 5 per decade, plain numbers) only over a decade or more."""
    v = values[values > 0]
    which = ax.xaxis if axis == "x" else ax.yaxis
    if len(v) and v.max() / v.min() >= 10:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        which.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=6))
        which.set_major_formatter(PLAIN)
        which.set_minor_formatter(NullFormatter())
    else:
        which.set_major_locator(MaxNLocator(nbins=4))


def place_labels(
    ax, fig: Figure, points: list[tuple[str, float, float]], markers: list[tuple[float, float]]
) -> list[str]:
    """Label ``points`` without covering other text or any of ``markers`` (data coordinates),
    trying four offsets; the names left unlabelled."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.canvas.draw()
    boxes = [b for _, b in _texts(fig)]
    centres = [ax.transData.transform(m) for m in markers]
    r = 3 * fig.dpi / 72  # a marker's half width
    axbox = ax.get_window_extent(renderer)
    skipped = []
    for name, x, y in points:
        placed = False
        for dx, dy, ha, va in [
            (3, 3, "left", "bottom"),
            (-3, 3, "right", "bottom"),
            (3, -3, "left", "top"),
            (-3, -3, "right", "top"),
        ]:
            t = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va)
            b = t.get_window_extent(renderer)
            inside = b.x0 >= axbox.x0 and b.x1 <= axbox.x1 and b.y0 >= axbox.y0 and b.y1 <= axbox.y1
            clash = any(
                min(b.x1, o.x1) - max(b.x0, o.x0) > 0 and min(b.y1, o.y1) - max(b.y0, o.y0) > 0
                for o in boxes
            ) or any(
                b.x0 - r < cx < b.x1 + r and b.y0 - r < cy < b.y1 + r
                for cx, cy in centres
                if (cx, cy) != tuple(ax.transData.transform((x, y)))
            )
            if inside and not clash:
                boxes.append(b)
                placed = True
                break
            t.remove()
        if not placed:
            skipped.append(name)
    return skipped


def legend_shape(labels: list[str]) -> tuple[int, int]:
    """(columns, rows) of a column-wide legend: two columns when the longest label fits."""
    ncols = 2 if 2 * (label_width_in(labels) + 0.5) <= COLUMN_WIDTH_IN else 1
    return ncols, -(-len(labels) // ncols)


def label_width_in(labels: list[str]) -> float:
    """Widest of ``labels`` at the figure font size, in inches."""
    fig = Figure()
    renderer = FigureCanvasAgg(fig).get_renderer()
    widths = [fig.text(0, 0, t).get_window_extent(renderer).width for t in labels]
    return max(widths, default=0.0) / fig.dpi
