"""Number formats and the marks every table and sentence of the report uses."""

from __future__ import annotations

import math

import pandas as pd

from reports.analysis.frames import MISSING

INCOMPLETE = "†"
BELOW_CHANCE = "‡"
PLUS_MINUS = " ± "
MIB = 2**20


def number(value: float, digits: int = 3) -> str:
    """Fixed-point text, or the missing mark for NaN."""
    return MISSING if value is None or math.isnan(value) else f"{value:.{digits}f}"


def significant(value: float, digits: int = 3) -> str:
    """Fixed-point text with at least ``digits`` significant digits (0.00123, 14.2, 203)."""
    if value is None or math.isnan(value):
        return MISSING
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def p_value(value: float) -> str:
    """p-values: three decimals, or two significant digits in scientific form below 1e-3."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:.1e}" if value < 1e-3 else f"{value:.3f}"


def statistic(value: float) -> str:
    """A Wilcoxon W: an integer or half-integer sum of ranks, printed as such."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:g}"


def mean_std(mean: float, std: float) -> str:
    """``mean ± std``, or the mean alone when only one seed gives no spread."""
    return number(mean) if math.isnan(std) else number(mean) + PLUS_MINUS + number(std)


def signed(value: float, digits: int = 3) -> str:
    """A difference with its sign (+0.012, −0.030)."""
    if value is None or math.isnan(value):
        return MISSING
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def values(series: pd.Series) -> str:
    """Distinct non-empty values, sorted, comma separated."""
    v = sorted({str(x) for x in series.dropna() if str(x) != ""})
    return ", ".join(v) if v else MISSING
