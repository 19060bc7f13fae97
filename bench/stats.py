"""Pure statistics of the benchmark figures: percentiles of samples, the median of repeated runs and
the ratio of a figure to its baseline. No I/O (unit-tested in tests/unit/test_bench_stats.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (pct in 0..100) of the samples: p50 is the median sample, p99 a value
    that 99 % of the samples do not exceed. Empty samples have none (NaN)."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile out of range: {pct}")
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def median(values: Sequence[float]) -> float:
    """The median of repeated runs (the mean of the two middle ones for an even count)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def ratio(value: float, baseline: float) -> float:
    """value / baseline; NaN when there is no baseline to compare with."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline


def summary(runs: Sequence[float]) -> dict:
    """A repeated figure: its median, spread and every run (so a reader sees the noise)."""
    return {"median": median(runs), "min": min(runs) if runs else math.nan,
            "max": max(runs) if runs else math.nan, "runs": [round(r, 3) for r in runs]}


def growth_exponent(sizes: Sequence[float], costs: Sequence[float]) -> float:
    """How cost grows with size, as the slope of log(cost) over log(size) between the smallest and the
    largest size: 1 is linear, 0 constant."""
    if len(sizes) < 2 or min(costs) <= 0:
        return math.nan
    return math.log(costs[-1] / costs[0]) / math.log(sizes[-1] / sizes[0])


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """VmRSS (or another /proc/<pid>/status figure in kB, such as VmHWM, the peak RSS) of a process, in
    MB (None once it is gone). Here rather than in harness.py, so a process measuring itself need not
    import the harness (7 MB the service does not carry)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
