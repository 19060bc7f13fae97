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


def test_report_scope_checks_division_and_period():
    from datetime import UTC, datetime

    from shared.contracts.caller import Caller
    from shared.errors import Forbidden, Invalid, NotFound
    from shared.reports import report_scope

    hr = Caller(key_id="k", name="h", role="hr", divisions=("retail",))
    admin = Caller(key_id="a", name="a", role="admin")
    scope = report_scope(hr, None, "2026-11-01", "2026-12-01T00:00:00Z")
    assert scope.divisions == ["retail"] and scope.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert scope.echo() == {"division": None, "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    assert scope.time_query() == {"$gte": scope.since, "$lt": scope.until} and scope.covers("retail")
    assert report_scope(hr, None, None, None).time_query() is None
    assert report_scope(admin, None, None, None).divisions is None
    assert report_scope(admin, "logistics", None, None).divisions == ["logistics"]
    with pytest.raises(NotFound):
        report_scope(hr, "logistics", None, None)
    for start, end, field in [("2026-12-01", "2026-11-01", "to"), ("2026-11-01", "2026-11-01", "to"),
                              ("yesterday", None, "from"), (None, "0001-01-01T00:00:00+14:00", "to")]:
        with pytest.raises(Invalid) as exc:
            report_scope(hr, None, start, end)
        assert exc.value.field == field
    with pytest.raises(Invalid):
        report_scope(admin, "not a division!", None, None)
    with pytest.raises(Forbidden):
        report_scope(Caller(key_id="i", name="i", role="interviewer", divisions=("retail",)), None, None, None)
