"""shared/stats.py: the figures every report rests on, with hand-computed answers."""

import pytest

from shared import stats


def test_median():
    assert stats.median([]) is None
    assert stats.median([7]) == 7
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5


@pytest.mark.parametrize(("values", "expected"), [
    ([], None), ([5], 5), ([1, 2], 2), (list(range(1, 11)), 9), (list(range(1, 12)), 10),
    (list(range(1, 21)), 18), ([10, 1, 5], 10)])
def test_p90_is_the_nearest_rank(values, expected):
    assert stats.p90(values) == expected


def test_zscores_use_the_population_standard_deviation():
    # means 2, 3, 4: centre 3, population std sqrt(2/3) = 0.8165
    z = stats.zscores({"a": 2.0, "b": 3.0, "c": 4.0})
    assert z["b"] == 0 and round(z["a"], 4) == -1.2247 and round(z["c"], 4) == 1.2247
    assert stats.zscores({"a": 1.0, "b": 5.0}) == {"a": -1.0, "b": 1.0}
    assert stats.zscores({"a": 3.0}) == {"a": None}
    assert stats.zscores({"a": 3.0, "b": 3.0}) == {"a": None, "b": None}
    assert stats.zscores({}) == {}


def test_rate_mean_and_summary():
    assert stats.rate(2, 3) == 0.6667 and stats.rate(1, 0) is None
    assert stats.mean([]) is None and stats.mean([1, 2]) == 1.5
    assert stats.summary([1, 2, 3, 4]) == {"median": 2.5, "p90": 4}
    assert stats.summary([]) == {"median": None, "p90": None}
