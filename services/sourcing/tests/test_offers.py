"""Offers with terms in the sourcing shell against a real MongoDB (the offers work, api-v1 "Interviews,
offers"): terms on a passed application only, dates against the division's clock, terms given with a pass,
the candidate's answer checked against them (a start date among the options, before the expiry), questions
to HR, and what the events carry."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.sourcing.tests.test_service import (
    ADMIN,
    HR,
    OTHER_HR,
    RECRUITER,
    REQ,
    SUMMARY,
    SYSTEM,
    application,
    as_,
    deliver,
    screened,
    sent,
)
from services.sourcing.tests.test_service import svc as _svc
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import utcnow

svc = _svc  # the shell fixture (a real MongoDB)


def terms(days_to_expiry=7, **kw):
    today = utcnow().date()
    return {"salary": {"amount": 85000.0, "currency": "EUR", "period": "year"},
            "start_date_options": [(today + timedelta(days=30)).isoformat(), (today + timedelta(days=60)).isoformat()],
            "expires_at": (utcnow() + timedelta(days=days_to_expiry)).isoformat(), "message": "Welcome!", **kw}


def interviewed(svc, tier="basic"):
    req = as_(svc, HR).create_requisition(**{**REQ, "tier": tier})
    app_id = svc.submit_application(**application(req["id"]))["id"]
    deliver(svc, "screening", "application_screened", screened(app_id))
    deliver(svc, "interview_feedback", "interview_scheduled", {
        "interview_id": "int_1", "application_id": app_id, "division": "retail", "interviewers": ["ivan"],
        "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"})
    deliver(svc, "interview_feedback", "interview_completed",
            {"application_id": app_id, "division": "retail", "summary": SUMMARY})
    return app_id


def passed(svc, app_id, tier="basic", offer=None):
    deliver(svc, "interview_feedback", "decision_recorded", {
        "application_id": app_id, "division": "retail", "tier": tier,
        "next_status": "offered" if tier == "basic" else "awaiting_approval", "offer": offer,
        "decision": {"outcome": "pass", "decided_by": "helen", "decided_at": utcnow().isoformat()}})


def test_terms_only_on_a_passed_application_by_hr_of_its_division(svc):
    app_id = interviewed(svc)
    with pytest.raises(Conflict) as exc:  # interviewed, not passed: nothing stored, nothing sent
        as_(svc, HR).make_offer(application_id=app_id, **terms())
    assert exc.value.code == "invalid_status"
    assert "offer" not in svc.store.get_application(app_id) and sent(svc, "offer_terms_set") == []
    passed(svc, app_id)
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).make_offer(application_id=app_id, **terms())
    with pytest.raises(Forbidden):
        as_(svc, RECRUITER).make_offer(application_id=app_id, **terms())
    offer = as_(svc, HR).make_offer(application_id=app_id, **terms())
    assert offer["status"] == "offered" and offer["version"] == 1 and offer["salary"]["amount"] == 85000
    assert offer["company"] == "retail" and offer["timezone"] == "UTC" and offer["expired"] is False
    [event] = sent(svc, "offer_terms_set")
    assert event["status"] == "offered" and event["offer"]["start_date_options"] == terms()["start_date_options"]
    again = as_(svc, ADMIN).make_offer(application_id=app_id, **terms(salary={"amount": 90000.0, "currency": "EUR",
                                                                              "period": "year"}))
    assert again["version"] == 2 and svc.get_application(application_id=app_id)["offer"]["salary"]["amount"] == 90000


@pytest.mark.parametrize(("change", "field"), [
    ({"start_date_options": ["2020-01-01"]}, "start_date_options.0"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ({"start_date_options": ["2030-01-01", "2030-01-01"]}, "start_date_options"),
    ({"salary": {"amount": -1, "currency": "EUR", "period": "year"}}, "salary.amount"),
])
def test_bad_terms_name_the_field_and_store_nothing(svc, change, field):
    app_id = interviewed(svc)
    passed(svc, app_id)
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).make_offer(application_id=app_id, **terms(**change))
    assert exc.value.field == field
    assert "offer" not in svc.store.get_application(app_id) and sent(svc, "offer_terms_set") == []


def test_today_is_the_divisions_today(svc):
    """A start date of today in Pacific/Kiritimati (UTC+14) is refused in UTC only when it is already past there."""
    as_(svc, ADMIN).patch_division(division_id="retail", name="Retail GmbH", timezone="Pacific/Kiritimati")
    app_id = interviewed(svc)
    passed(svc, app_id)
    kiritimati_today = (datetime.now(UTC) + timedelta(hours=14)).date()
    offer = as_(svc, HR).make_offer(application_id=app_id, **terms(start_date_options=[kiritimati_today.isoformat()]))
    assert offer["company"] == "Retail GmbH" and offer["timezone"] == "Pacific/Kiritimati"
    with pytest.raises(Invalid):
        as_(svc, HR).make_offer(application_id=app_id, **terms(
            start_date_options=[(kiritimati_today - timedelta(days=1)).isoformat()]))


def test_a_core_roles_terms_before_the_last_approval_ride_on_the_offered_change(svc):
    app_id = interviewed(svc, "core")
    passed(svc, app_id, "core")
    as_(svc, HR).make_offer(application_id=app_id, **terms())
    assert sent(svc, "offer_terms_set")[0]["status"] == "awaiting_approval"
    step = {"id": "ap_1", "step": 2, "role": "admin", "status": "approved", "expected_by": "2026-01-04T00:00:00Z"}
    deliver(svc, "interview_feedback", "approval_step_decided",
            {"application_id": app_id, "division": "retail", "step": step, "chain_status": "approved_all"})
    offered = sent(svc, "application_status_changed")[-1]
    assert offered["status"] == "offered" and offered["offer"]["salary"]["amount"] == 85000


def test_terms_given_with_a_pass_are_stored_with_the_move(svc):
    app_id = interviewed(svc)
    given = terms()
    passed(svc, app_id, offer=given)
    app = svc.get_application(application_id=app_id)
    assert app["status"] == "offered" and app["offer"]["start_date_options"] == given["start_date_options"]
    assert app["offer"]["set_by"] == "helen"
    assert sent(svc, "application_status_changed")[-1]["offer"]["message"] == "Welcome!"


def test_the_answer_to_an_offer_with_terms(svc):
    app_id = interviewed(svc)
    passed(svc, app_id, offer=terms())
    options = svc.get_application(application_id=app_id)["offer"]["start_date_options"]
    portal = as_(svc, SYSTEM)
    for body, field in (({"response": "accept"}, "start_date"),
                        ({"response": "accept", "start_date": "2099-12-31"}, "start_date")):
        with pytest.raises(Invalid) as exc:
            portal.candidate_response(application_id=app_id, **body)
        assert exc.value.field == field
    assert svc.get_application(application_id=app_id)["status"] == "offered"
    asked = portal.candidate_response(application_id=app_id, response="question", message="Is it hybrid?")
    assert asked["status"] == "offered" and asked["offer_questions"][0]["message"] == "Is it hybrid?"
    assert sent(svc, "offer_question_asked")[0]["message"] == "Is it hybrid?"
    done = portal.candidate_response(application_id=app_id, response="accept", start_date=options[1])
    assert done["status"] == "accepted" and done["offer"]["accepted_start_date"] == options[1]
    assert done["timeline"][-1]["detail"] == f"Candidate accepted the offer, starting {options[1]}"
    with pytest.raises(Conflict):  # answered: no more questions
        portal.candidate_response(application_id=app_id, response="question", message="And now?")


def test_an_expired_offer_cannot_be_accepted_but_can_be_declined_with_a_reason(svc):
    app_id = interviewed(svc)
    passed(svc, app_id, offer=terms())
    # the clock moves past the expiry (stored as it would be by then)
    svc.store.db.applications.update_one({"_id": app_id},
                                         {"$set": {"offer.expires_at": utcnow() - timedelta(minutes=1)}})
    assert svc.get_application(application_id=app_id)["offer"]["expired"] is True
    option = svc.get_application(application_id=app_id)["offer"]["start_date_options"][0]
    with pytest.raises(Conflict) as exc:
        as_(svc, SYSTEM).candidate_response(application_id=app_id, response="accept", start_date=option)
    assert exc.value.code == "offer_expired"
    assert svc.get_application(application_id=app_id)["status"] == "offered"
    done = as_(svc, SYSTEM).candidate_response(application_id=app_id, response="decline", reason="Too late")
    assert done["status"] == "declined" and done["offer"]["decline_reason"] == "Too late"


def test_a_basic_offer_without_terms_is_accepted_as_before(svc):
    app_id = interviewed(svc)
    passed(svc, app_id)
    with pytest.raises(Invalid) as exc:
        as_(svc, SYSTEM).candidate_response(application_id=app_id, response="accept",
                                            start_date=date(2099, 1, 1).isoformat())
    assert exc.value.field == "start_date"
    assert as_(svc, SYSTEM).candidate_response(application_id=app_id, response="accept")["status"] == "accepted"
