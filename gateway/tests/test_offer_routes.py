"""The offers work's routes in process against the fake services (gateway/testing.py) on real Redis and
MongoDB: `POST /v1/applications/{id}/offer` (roles, bad terms refused before any service is asked, the
service's 409s passed on), terms inside a pass decision, the portal's offer (terms shown only once visible, the
accept/decline/question forms, the letter as a PDF pypdf reads), and its answers' errors."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from gateway.routes.portal import PORTAL
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import interview_feedback, sourcing
from shared.errors import Conflict, Invalid
from shared.tokens import portal_token
from tests.support.applications import application

TERMS = {"salary": {"amount": 85000, "currency": "EUR", "period": "year"},
         "start_date_options": ["2031-01-06", "2031-02-03"], "expires_at": "2031-01-01T17:00:00Z",
         "message": "Welcome aboard!"}
OFFER = {"version": 1, "salary": {"amount": 85000.0, "currency": "EUR", "period": "year"},
         "start_date_options": ["2031-01-06", "2031-02-03"], "expires_at": "2031-01-01T17:00:00Z",
         "message": "Welcome aboard!", "company": "Retail GmbH", "timezone": "Europe/Berlin",
         "set_at": "2030-12-01T09:00:00Z", "set_by": "hanna", "expired": False}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "offers") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    return gateway


def offered(**offer):
    return application(status="offered", offer={**OFFER, **offer}, candidate_name="Li Wei")


def portal(gw, path="", **kw):
    token = portal_token("a", "app_1", gw.client.app.state.settings.portal_secret)
    return f"/portal/{token}{path}"


def test_hr_sets_the_terms_and_they_reach_sourcing_as_given(gw):
    gw.fake.answer(sourcing.MakeOffer, {**OFFER, "application_id": "app_1", "status": "offered"})
    r = gw.client.post("/v1/applications/app_1/offer", headers=gw.as_("hr"), json=TERMS)
    assert r.status_code == 200, r.text
    assert r.json()["salary"]["amount"] == 85000 and r.json()["status"] == "offered"
    [call] = gw.fake.calls_to(sourcing.MakeOffer)
    assert call.kwargs["application_id"] == "app_1" and call.kwargs["start_date_options"] == TERMS[
        "start_date_options"]
    assert gw.client.post("/v1/applications/app_1/offer", headers=gw.as_("recruiter"),
                          json=TERMS).status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"start_date_options": []}, "start_date_options"),
    ({"start_date_options": ["06/01/2031"]}, "start_date_options.0"),
    ({"start_date_options": ["2031-01-06", "2031-01-06"]}, "start_date_options"),
    ({"salary": {"amount": 0, "currency": "EUR", "period": "year"}}, "salary.amount"),
    ({"salary": {"amount": 1, "currency": "EUR", "period": "week"}}, "salary.period"),
    ({"expires_at": "soon"}, "expires_at"),
    ({"bonus": 1}, "bonus"),
])
def test_bad_terms_are_422_naming_the_field_and_reach_no_service(gw, change, field):
    r = gw.client.post("/v1/applications/app_1/offer", headers=gw.as_("hr"), json={**TERMS, **change})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert gw.fake.calls_to(sourcing.MakeOffer) == []


def test_the_services_refusals_pass_on(gw):
    gw.fake.answer(sourcing.MakeOffer, Conflict("not passed; this one is interviewed", code="invalid_status"))
    r = gw.client.post("/v1/applications/app_1/offer", headers=gw.as_("hr"), json=TERMS)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_status"
    gw.fake.answer(sourcing.MakeOffer, Invalid("expires_at: must be in the future", field="expires_at"))
    r = gw.client.post("/v1/applications/app_1/offer", headers=gw.as_("hr"), json=TERMS)
    assert r.status_code == 422 and r.json()["error"]["field"] == "expires_at"


def test_terms_inside_a_pass_decision_travel_to_interview_feedback_and_not_with_a_fail(gw):
    gw.fake.answer(interview_feedback.Decide, {
        "application_id": "app_1", "outcome": "pass", "next_status": "offered", "note": None,
        "decided_by": "hanna", "decided_at": "2030-12-01T09:00:00Z", "approvals": []})
    r = gw.client.post("/v1/applications/app_1/decision", headers=gw.as_("hr"),
                       json={"outcome": "pass", "offer": TERMS})
    assert r.status_code == 200, r.text
    [call] = gw.fake.calls_to(interview_feedback.Decide)
    assert call.kwargs["offer"]["start_date_options"] == TERMS["start_date_options"]
    r = gw.client.post("/v1/applications/app_1/decision", headers=gw.as_("hr"),
                       json={"outcome": "fail", "offer": TERMS})
    assert r.status_code == 422 and r.json()["error"]["field"] == "offer"
    assert len(gw.fake.calls_to(interview_feedback.Decide)) == 1


@pytest.mark.parametrize(("locale", "salary", "accept"), [("en", "EUR 85,000 per year", "Accept the offer"),
                                                          ("zh-CN", "EUR 85,000 每年", "接受录用")])
def test_the_portal_shows_the_terms_with_the_forms_once_the_offer_is_visible(gw, locale, salary, accept):
    gw.fake.answer_declared({"application_id": "app_1", "division": "retail"})
    gw.fake.answer(sourcing.GetApplication, offered())
    view = gw.client.get(portal(gw) + f"?lang={locale}", headers={"accept": "application/json"}).json()
    assert view["offer"]["salary_text"] == salary and view["offer"]["can_accept"] is True
    assert view["offer"]["expires_text"] == "2031-01-01 18:00 (Europe/Berlin)"
    assert "set_by" not in view["offer"] and "version" not in view["offer"]
    page = gw.client.get(portal(gw) + f"?lang={locale}").text
    assert salary in page and accept in page and 'value="2031-02-03"' in page and "Welcome aboard!" in page
    assert 'id="confirm-accept"' in page and 'id="ask-hr"' in page and "offer-letter" in page
    # a core role's terms wait for the last approval
    gw.fake.answer(sourcing.GetApplication, application(status="awaiting_approval", tier="core", offer=OFFER))
    view = gw.client.get(portal(gw), headers={"accept": "application/json"}).json()
    assert view["offer"] is None
    assert gw.client.get(portal(gw, "/offer-letter")).status_code == 404
    # expired: the terms stay readable, accepting does not
    gw.fake.answer(sourcing.GetApplication, offered(expired=True))
    view = gw.client.get(portal(gw), headers={"accept": "application/json"}).json()
    assert view["offer"]["expired"] is True and view["offer"]["can_accept"] is False


@pytest.mark.parametrize(("locale", "words"), [("en", "Offer of employment"), ("zh-CN", "录用通知书")])
def test_the_offer_letter_downloads_as_a_pdf_in_the_candidates_language(gw, locale, words):
    gw.fake.answer(sourcing.GetApplication, offered())
    r = gw.client.get(portal(gw, "/offer-letter") + f"?lang={locale}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="offer-letter.pdf"'
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert words in text and "85,000" in text and "2031-01-06" in text and "2031-02-03" in text
    assert "Li Wei" in text and "Retail GmbH" in text
    [call] = gw.fake.calls_to(sourcing.GetApplication)
    assert call.caller == PORTAL


def test_the_services_answers_to_an_accept_reach_the_candidate(gw):
    gw.fake.answer(sourcing.CandidateResponse, Invalid("start_date: 2031-03-01 is not among the offered dates",
                                                       field="start_date"))
    r = gw.client.post(portal(gw, "/response"), json={"response": "accept", "start_date": "2031-03-01"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "start_date"
    gw.fake.answer(sourcing.CandidateResponse, Conflict("the offer expired", code="offer_expired"))
    r = gw.client.post(portal(gw, "/response"), json={"response": "accept", "start_date": "2031-01-06"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "offer_expired"
