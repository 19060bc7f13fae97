"""`POST /portal/{token}/response` with the offer answers of api-v1 "Interviews, offers" (a start date, a
decline reason, a question to HR), in process against the fake services: what reaches which service, what is
refused before anything is sent. How sourcing acts on a start date or a question is the offers work's."""

from __future__ import annotations

import pytest

from gateway.routes.portal import PORTAL
from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import sourcing, talent_pool
from shared.tokens import portal_token
from tests.support.applications import application

# What sourcing answers a candidate's response: the application as recorded (no candidate name on it).
RECORD = {k: v for k, v in application(id="app_7", status="accepted").items() if k != "candidate_name"}
REENGAGEMENT = {**sample(talent_pool.ReengagementDetail), "id": "re_7", "status": "accepted"}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "portal-response") as namespace, \
            running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.CandidateResponse, RECORD)
    gateway.fake.answer(talent_pool.RespondReengagement, REENGAGEMENT)
    return gateway


def token(gw, kind: str, object_id: str) -> str:
    return portal_token(kind, object_id, gw.client.app.state.settings.portal_secret)


def answer(gw, kind: str, object_id: str, body: dict):
    return gw.client.post(f"/portal/{token(gw, kind, object_id)}/response", json=body)


def test_the_answers_of_before_reach_both_services_as_before(gw):
    for kind, object_id, target in (("a", "app_7", sourcing.CandidateResponse),
                                    ("r", "re_7", talent_pool.RespondReengagement)):
        for reply in ("accept", "decline"):
            gw.fake.calls.clear()
            assert answer(gw, kind, object_id, {"response": reply}).status_code == 200
            [call] = gw.fake.calls_to(target)
            assert call.caller == PORTAL
            assert call.kwargs["response"] == reply and call.kwargs["start_date"] is None


def test_an_offer_answer_carries_its_start_date_reason_or_question_to_sourcing(gw):
    for body in ({"response": "accept", "start_date": "2027-01-04"},
                 {"response": "decline", "reason": "I took another offer"},
                 {"response": "question", "message": "Is the role hybrid?"}):
        gw.fake.calls.clear()
        assert answer(gw, "a", "app_7", body).status_code == 200
        [call] = gw.fake.calls_to(sourcing.CandidateResponse)
        assert {k: v for k, v in call.kwargs.items() if v is not None} == {"application_id": "app_7", **body}


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("a", {"response": "question"}, "message"),
    ("a", {"response": "decline", "start_date": "2027-01-04"}, "start_date"),
    ("a", {"response": "accept", "start_date": "04/01/2027"}, "start_date"),
    ("r", {"response": "question", "message": "When would I start?"}, "response"),
    ("r", {"response": "accept", "start_date": "2027-01-04"}, "start_date"),
])
def test_an_answer_that_does_not_hold_is_422_naming_the_field_and_reaches_no_service(gw, kind, body, field):
    response = answer(gw, kind, "app_7" if kind == "a" else "re_7", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert gw.fake.calls_to(sourcing.CandidateResponse) == []
    assert gw.fake.calls_to(talent_pool.RespondReengagement) == []
