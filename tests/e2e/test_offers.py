"""Offers with terms against the whole platform, over HTTP and the captured mail (issue 19): HR passes a candidate
with the offer's terms; the offer email carries the offer letter, whose text (pypdf) holds the salary and every
start date; the candidate accepts on the portal by choosing one of the dates. Bad input is answered clearly and
changes nothing: bad terms, an offer on an application that is not passed, a start date not among the options,
accepting an offer that has expired."""

from __future__ import annotations

import io
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from tests.e2e.test_candidate_words import message
from tests.e2e.test_hiring_loop import app_status, find_mail, make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def interviewed(platform, hr, recruiter, panel, name: str, division: str, email: str) -> str:
    req = hr.post("/v1/requisitions", json={"title": "Head Roaster", "division": division, "department": "coffee",
                                            "tier": "basic", "required_skills": ["roasting"]}).json()
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral", "candidate": {
        "name": "Ola Offer", "email": email, "skills": ["roasting"], "years_experience": 6}}).json()
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview = recruiter.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": [name], "competencies": ["craft"], "starts_at": iso(datetime.now(UTC) - timedelta(hours=2)),
        "allow_clash": True}).json()
    assert panel.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": name, "ratings": {"craft": 5}, "recommendation": "strong_yes"}).status_code == 201
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "interviewed", what="interviewed")
    return app["id"]


def terms(**changes) -> dict:
    today = datetime.now(UTC).date()
    return {"salary": {"amount": 98500, "currency": "EUR", "period": "year"},
            "start_date_options": [(today + timedelta(days=d)).isoformat() for d in (21, 35)],
            "expires_at": iso(datetime.now(UTC) + timedelta(days=5)), "message": "Welcome to the roastery.",
            **changes}


def test_an_offer_with_terms_its_letter_and_the_candidate_s_choice_of_start_date(platform):
    admin = platform.client()
    division = f"offer-{secrets.token_hex(3)}"
    register_over_api(admin, division)
    hr = platform.client(make_key(admin, "hilde", "hr", [division]))
    recruiter = platform.client(make_key(admin, "rune", "recruiter", [division]))
    panel = platform.client(make_key(admin, "pia", "interviewer", [division]))
    email = f"ola.{division}@example.com"
    app_id = interviewed(platform, hr, recruiter, panel, "pia", division, email)

    # Bad input changes nothing: an offer before the pass, bad terms.
    r = hr.post(f"/v1/applications/{app_id}/offer", json=terms())
    assert r.status_code == 409, r.text
    for changed, field in ((terms(salary={"amount": 0, "currency": "EUR", "period": "year"}), "offer.salary.amount"),
                           (terms(start_date_options=["2020-01-01"]), "offer.start_date_options.0"),
                           (terms(expires_at="2020-01-01T00:00:00Z"), "offer.expires_at")):
        r = hr.post(f"/v1/applications/{app_id}/decision", json={"outcome": "pass", "offer": changed})
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (field, r.text)
    assert app_status(hr, app_id)["status"] == "interviewed"

    offer = terms()
    r = hr.post(f"/v1/applications/{app_id}/decision", json={"outcome": "pass", "offer": offer})
    assert r.status_code == 200, r.text
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "offered", what="offered")

    # The offer email: the evidence, the terms, and the letter as a PDF whose text holds the salary and dates.
    [entry] = find_mail(platform, email, "offer")
    msg = message(platform, entry)
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages)
    assert "98,500" in text and "EUR" in text
    for day in offer["start_date_options"]:
        assert day in text
    link = portal_link(platform.mail_body(entry))
    token = link.split("/portal/", 1)[1]
    anonymous = platform.client()
    anonymous.headers.pop("Authorization")

    # A start date that was not offered: 422 naming it, still offered.
    r = anonymous.post(f"/portal/{token}/response", json={"response": "accept", "start_date": "2031-02-03"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "start_date", r.text
    assert app_status(hr, app_id)["status"] == "offered"
    letter = anonymous.get(f"/portal/{token}/offer-letter")
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"

    r = anonymous.post(f"/portal/{token}/response", json={"response": "accept",
                                                          "start_date": offer["start_date_options"][1]})
    assert r.status_code == 200, r.text
    accepted = wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "accepted", what="accepted")
    assert accepted["offer"]["accepted_start_date"] == offer["start_date_options"][1]


def test_an_expired_offer_cannot_be_accepted(platform):
    admin = platform.client()
    division = f"offer-{secrets.token_hex(3)}"
    register_over_api(admin, division)
    hr = platform.client(make_key(admin, "hanna", "hr", [division]))
    recruiter = platform.client(make_key(admin, "remo", "recruiter", [division]))
    panel = platform.client(make_key(admin, "paz", "interviewer", [division]))
    email = f"eli.{division}@example.com"
    app_id = interviewed(platform, hr, recruiter, panel, "paz", division, email)
    offer = terms(expires_at=iso(datetime.now(UTC) + timedelta(seconds=3)))
    assert hr.post(f"/v1/applications/{app_id}/decision",
                   json={"outcome": "pass", "offer": offer}).status_code == 200
    token = portal_link(platform.mail_body(find_mail(platform, email, "offer")[0])).split("/portal/", 1)[1]
    time.sleep(max(0.0, (datetime.fromisoformat(offer["expires_at"].replace("Z", "+00:00"))
                         - datetime.now(UTC)).total_seconds()) + 1)
    anonymous = platform.client()
    anonymous.headers.pop("Authorization")
    r = anonymous.post(f"/portal/{token}/response", json={"response": "accept",
                                                          "start_date": offer["start_date_options"][0]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "offer_expired", r.text
    assert app_status(hr, app_id)["status"] == "offered"
