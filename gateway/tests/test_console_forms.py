"""Numbers typed into console forms are read as the API reads JSON numbers: finite, whole where due."""

from __future__ import annotations

import pytest

from gateway.console.api import ApiError
from gateway.console.views import _integer, _number


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", "9" * 400])
def test_non_finite_numbers_are_a_form_error_naming_the_field(text):
    with pytest.raises(ApiError) as refused:
        _number(text, "min_years")
    assert refused.value.status == 422 and refused.value.field == "min_years" and "finite" in str(refused.value)


@pytest.mark.parametrize("text", ["abc", "0x10", "🙂", "²", "1,5"])
def test_what_is_no_number_is_a_form_error(text):
    with pytest.raises(ApiError) as refused:
        _integer(text, "headcount")
    assert refused.value.status == 422 and refused.value.field == "headcount"


def test_numbers_that_are_numbers_pass_and_whole_numbers_are_integers():
    assert _number("", "x") == 0 and _number("2.5", "x") == 2.5 and str(_number("-0", "x")) == "0.0"
    assert _integer("3", "x") == 3 and _integer("3.0", "x") == 3 and _integer("", "x", default=1) == 1
    assert _integer("١٢", "x") == 12  # other scripts' digits are digits, as float() reads them
    assert _integer("1e3", "x") == 1000 and _integer(str(10**30), "x") == 10**30  # the API refuses the range
    with pytest.raises(ApiError, match="whole number"):
        _integer("3.5", "x")
