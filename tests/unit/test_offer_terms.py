"""An offer's terms and the candidate's answer on the portal (shared/contracts/commands.py; api-v1 "Interviews,
offers"): bad terms refused with the field named, and the portal's old `{response}` still taken."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.contracts.commands import OfferTerms, PortalResponseIn
from shared.contracts.sourcing import CandidateResponse
from shared.contracts.talent_pool import RespondReengagement
from shared.errors import Invalid
from shared.validation import parse

TERMS = {"salary": {"amount": 85000, "currency": "EUR", "period": "year"},
         "start_date_options": ["2027-01-04", "2027-02-01"], "expires_at": "2026-12-20T17:00:00Z",
         "message": "We would love you on the team."}


def terms(**changes) -> dict:
    body = {**TERMS, "salary": dict(TERMS["salary"])}
    for key, value in changes.items():
        if key.startswith("salary_"):
            body["salary"][key.removeprefix("salary_")] = value
        elif value is ...:
            body.pop(key)
        else:
            body[key] = value
    return body


def refused(model, body) -> Invalid:
    with pytest.raises(Invalid) as caught:
        parse(model, body)
    return caught.value


def test_good_terms_are_read_as_typed_values():
    offer = parse(OfferTerms, terms())
    assert (offer.salary.amount, offer.salary.currency, offer.salary.period) == (85000.0, "EUR", "year")
    assert offer.start_date_options == [date(2027, 1, 4), date(2027, 2, 1)]
    assert offer.expires_at == datetime(2026, 12, 20, 17, tzinfo=UTC)
    assert parse(OfferTerms, terms(message=...)).message is None
    # an expiry sent without a zone is UTC, as every api-v1 time; a fractional hourly rate is a rate
    assert parse(OfferTerms, terms(expires_at="2026-12-20T17:00:00")).expires_at.tzinfo is not None
    assert parse(OfferTerms, terms(salary_amount=22.5, salary_period="hour")).salary.amount == 22.5


@pytest.mark.parametrize(("changes", "field"), [
    ({"salary_amount": 0}, "salary.amount"),
    ({"salary_amount": -1}, "salary.amount"),
    ({"salary_amount": "85000"}, "salary.amount"),
    ({"salary_amount": True}, "salary.amount"),
    ({"salary_amount": float("inf")}, "salary.amount"),
    ({"salary_amount": 1e13}, "salary.amount"),
    ({"salary_currency": "eur"}, "salary.currency"),
    ({"salary_currency": "EURO"}, "salary.currency"),
    ({"salary_currency": "€"}, "salary.currency"),
    ({"salary_currency": "US$"}, "salary.currency"),
    ({"salary_period": "week"}, "salary.period"),
    ({"salary": ...}, "salary"),
    ({"start_date_options": []}, "start_date_options"),
    ({"start_date_options": ["2027-01-04", "2027-01-04"]}, "start_date_options"),
    ({"start_date_options": [f"2027-01-0{d}" for d in range(1, 7)]}, "start_date_options"),
    ({"start_date_options": "2027-01-04"}, "start_date_options"),
    ({"start_date_options": ["2027-02-30"]}, "start_date_options.0"),
    ({"start_date_options": ["2027-01-04", "04/01/2027"]}, "start_date_options.1"),
    ({"start_date_options": ["2027-01-04T09:00:00Z"]}, "start_date_options.0"),
    ({"start_date_options": [1798934400]}, "start_date_options.0"),
    ({"start_date_options": ...}, "start_date_options"),
    ({"expires_at": "next friday"}, "expires_at"),
    ({"expires_at": 1798934400}, "expires_at"),
    ({"expires_at": "2026-13-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": ...}, "expires_at"),
    ({"message": "x" * 2001}, "message"),
    ({"bonus": 1000}, "bonus"),
])
def test_bad_terms_are_refused_naming_the_field(changes, field):
    error = refused(OfferTerms, terms(**changes))
    assert error.field == field
    assert error.message.startswith(f"{field}: ")


def test_the_clock_checks_are_the_services_and_name_the_field():
    offer = parse(OfferTerms, terms())
    offer.check_dates(datetime(2026, 12, 10, 9, tzinfo=UTC))  # all ahead: nothing raised
    with pytest.raises(Invalid) as past:
        offer.check_dates(datetime(2027, 1, 10, 9, tzinfo=UTC))
    assert past.value.field == "start_date_options.0"
    with pytest.raises(Invalid) as expired:
        offer.check_dates(datetime(2026, 12, 20, 17, tzinfo=UTC))  # expiring now is expired
    assert expired.value.field == "expires_at"
    # "today" is the division's: at 20:00 UTC on 4 January it is still the 4th in Los Angeles, the 5th in Shanghai
    late = parse(OfferTerms, terms(expires_at="2027-06-01T00:00:00Z"))
    late.check_dates(datetime(2027, 1, 4, 20, 0, tzinfo=UTC), "America/Los_Angeles")
    with pytest.raises(Invalid):
        late.check_dates(datetime(2027, 1, 4, 20, 0, tzinfo=UTC), "Asia/Shanghai")


def test_the_portal_answers_of_before_are_still_taken():
    for answer in ("accept", "decline"):
        assert parse(PortalResponseIn, {"response": answer}).response == answer
        # both services that take the portal's answer read it as before (the gateway sends every field)
        sent = parse(PortalResponseIn, {"response": answer}).model_dump()
        assert CandidateResponse.request(application_id="app_1", **sent)["response"] == answer
        assert RespondReengagement.request(reengagement_id="re_1", **sent)["response"] == answer


def test_an_offer_is_accepted_with_a_start_date_declined_with_a_reason_or_asked_about():
    accepted = parse(PortalResponseIn, {"response": "accept", "start_date": "2027-01-04"})
    assert accepted.start_date == date(2027, 1, 4)
    assert parse(PortalResponseIn, {"response": "decline", "reason": "Another offer"}).reason == "Another offer"
    asked = parse(PortalResponseIn, {"response": "question", "message": "Is the role hybrid?"})
    assert (asked.response, asked.message) == ("question", "Is the role hybrid?")
    assert CandidateResponse.request(application_id="app_1", **accepted.model_dump())["start_date"] == "2027-01-04"


@pytest.mark.parametrize(("body", "field"), [
    ({"response": "question"}, "message"),
    ({"response": "question", "message": "   "}, "message"),
    ({"response": "question", "message": "x" * 2001}, "message"),
    ({"response": "accept", "start_date": "2027-01-04T00:00:00Z"}, "start_date"),
    ({"response": "accept", "start_date": "4 Jan"}, "start_date"),
    ({"response": "decline", "start_date": "2027-01-04"}, "start_date"),
    ({"response": "accept", "reason": "no"}, "reason"),
    ({"response": "decline", "message": "why?"}, "message"),
    ({"response": "maybe"}, "response"),
    ({"response": "accept", "start": "2027-01-04"}, "start"),
])
def test_a_portal_answer_with_a_field_that_does_not_go_with_it_is_refused(body, field):
    assert refused(PortalResponseIn, body).field == field


def test_a_re_engagement_is_still_answered_yes_or_no_only():
    with pytest.raises(Invalid) as question:
        RespondReengagement.request(reengagement_id="re_1", response="question", message="When?",
                                    start_date=None, reason=None)
    assert question.value.field == "response"
    with pytest.raises(Invalid) as dated:
        RespondReengagement.request(reengagement_id="re_1", response="accept", start_date="2027-01-04")
    assert dated.value.field == "start_date"
