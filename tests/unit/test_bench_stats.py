"""The statistics behind bench/'s figures (bench/stats.py)."""

import math

import pytest

from bench.stats import growth_exponent, median, percentile, ratio, summary


def test_percentile_nearest_rank():
    samples = list(range(1, 101))  # 1..100
    assert percentile(samples, 50) == 50
    assert percentile(samples, 95) == 95
    assert percentile(samples, 99) == 99
    assert percentile(samples, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([3, 1, 2], 50) == 2  # order of the samples does not matter
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_median_of_runs():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
    assert math.isnan(median([]))


def test_ratio_to_baseline():
    assert ratio(60, 100) == pytest.approx(0.6)
    assert math.isnan(ratio(5, 0))
    assert math.isnan(ratio(math.nan, 3))


def test_summary_keeps_every_run():
    s = summary([10.0, 30.0, 20.0])
    assert s == {"median": 20.0, "min": 10.0, "max": 30.0, "runs": [10.0, 30.0, 20.0]}


def test_growth_exponent():
    assert growth_exponent([10, 1000], [1, 100]) == pytest.approx(1.0)
    assert growth_exponent([10, 100, 1000], [5, 5, 5]) == pytest.approx(0.0)
