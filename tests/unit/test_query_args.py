"""The arguments list and report RPCs share (shared/contracts/queries.py): the words a 422 has always had."""

import pytest

from shared.contracts import queries
from shared.contracts.rpc import Args
from shared.errors import from_validation_error
from shared.storage import MAX_PAGE


class Page(Args):
    limit: queries.Limit = 50
    cursor: queries.Cursor = None
    skill: queries.Filter = None


def problem(**kwargs):
    try:
        Page.model_validate(kwargs)
    except Exception as exc:  # noqa: BLE001 - a pydantic ValidationError, read as the services do
        err = from_validation_error(exc)
        return err.field, err.message
    return None


def test_the_page_size_is_the_stores():
    assert queries.MAX_PAGE == MAX_PAGE


@pytest.mark.parametrize("limit", [0, 501, -1, True, "5", 2.0, None])
def test_a_limit_is_an_integer_from_1_to_500(limit):
    assert problem(limit=limit) == ("limit", "limit: must be an integer from 1 to 500")


def test_good_pages_pass():
    assert Page.model_validate({"limit": 500, "cursor": "YXBwXzE", "skill": "x" * 80}).limit == 500
    assert Page.model_validate({}).model_dump() == {"limit": 50, "cursor": None, "skill": None}


@pytest.mark.parametrize("cursor", [5, "c" * 201, ["a"]])
def test_a_cursor_is_a_short_string(cursor):
    assert problem(cursor=cursor) == ("cursor", "cursor: not a cursor returned by this API")


@pytest.mark.parametrize("skill", [7, "x" * 81])
def test_a_filter_is_a_short_string(skill):
    assert problem(skill=skill) == ("skill", "skill: must be a string of at most 80 characters")


def test_a_report_echoes_its_period_as_from_and_to():
    class Report(queries.ReportPeriod):
        count: int

    echoed = Report.model_validate({"division": None, "from": "2026-01-01T00:00:00Z", "to": None, "count": 1})
    assert echoed.model_dump(mode="json") == {"division": None, "from": "2026-01-01T00:00:00Z", "to": None,
                                              "count": 1}
    with pytest.raises(ValueError):
        Report.model_validate({"division": None, "from": None, "to": None, "count": 1, "extra": 2})
