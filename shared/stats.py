"""Small statistics for the reports (pure, no I/O): median, the 90th percentile, means and z-scores.

p90 is the nearest-rank percentile: the smallest value with at least 90% of the values at or below it,
i.e. sorted(values)[ceil(0.9 * n) - 1]. It is always one of the values (no interpolation), so a report
of 3 hires shows the slowest of them, and of 10 the 9th.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def median(values: Iterable[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count; None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile (see the module docstring); None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def p90(values: Iterable[float]) -> float | None:
    return percentile(values, 90)


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def zscores(values: Mapping[str, float]) -> dict[str, float | None]:
    """Each value's z-score against all of them: (value - mean) / population standard deviation.
    Every score is None with fewer than 2 values or when they are all equal (no spread to measure by)."""
    if len(values) < 2:
        return {k: None for k in values}
    centre = sum(values.values()) / len(values)
    std = math.sqrt(sum((v - centre) ** 2 for v in values.values()) / len(values))
    if std == 0:
        return {k: None for k in values}
    return {k: (v - centre) / std for k, v in values.items()}


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def rate(part: int, whole: int, digits: int = 4) -> float | None:
    """part / whole to `digits` decimals; None when there is no whole."""
    return round(part / whole, digits) if whole else None


def summary(values: Iterable[float], digits: int = 3) -> dict[str, float | None]:
    """`{median, p90}` of the values, rounded."""
    values = list(values)
    return {"median": rounded(median(values), digits), "p90": rounded(p90(values), digits)}
