"""The interviews issue's routes in process, against a fake of the services (gateway/testing.py), on real Redis
and MongoDB (the API keys are the directory of interviewers): the panel check, scheduling with slots or a time,
PATCH, cancel, attendance, kits, a fail with a reason, and the portal's slot pick and request for other times."""

from __future__ import annotations

import pytest

from gateway.console.session import LOGIN_COOKIE
from gateway.routes.portal import PORTAL
from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import interview_feedback, notification, sourcing, talent_pool
from shared.errors import Conflict
from shared.errors import NotFound as NotFoundError
from shared.tokens import portal_token
from tests.support.applications import application

BODY = {"interviewers": ["ann-r"], "competencies": ["craft"], "scheduled_at": "2026-12-01T09:00:00Z"}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "interviews") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        gw.key("interviewer", ("retail",), name="ann-r")
        gw.key("interviewer", ("retail", "logistics"), name="bo-r")
        gw.key("interviewer", ("logistics",), name="lu-l")
        gw.key("hr", ("retail",), name="hanna-hr")
        revoked, _ = gw.key("interviewer", ("retail",), name="old-r")
        gw.call(gw.app.state.gateway.keys.revoke, revoked)
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.GetApplication, application(status="shortlisted"))
    return gateway


def interview(**fields):
    return {**sample(interview_feedback.Interview, {"id": "int_1", "division": "retail"}), **fields}


def error(response) -> dict:
    return response.json()["error"]


def test_a_panel_of_known_interviewers_of_the_division_is_scheduled(gw):
    gw.fake.answer(interview_feedback.ScheduleInterview, interview(status="scheduled"))
    rec = gw.as_("recruiter")
    r = gw.client.post("/v1/applications/app_1/interviews", headers=rec,
                       json={**BODY, "interviewers": ["ann-r", "bo-r"], "timezone": "Asia/Shanghai",
                             "format": "onsite", "location": "Store 4", "duration_minutes": 45})
    assert r.status_code == 201, r.text
    [call] = gw.fake.calls_to(interview_feedback.ScheduleInterview)
    # scheduled_at is read as starts_at; every field travels on
    assert call.kwargs["starts_at"] == "2026-12-01T09:00:00Z" and call.kwargs["scheduled_at"] is None
    assert (call.kwargs["timezone"], call.kwargs["format"], call.kwargs["location"],
            call.kwargs["duration_minutes"]) == ("Asia/Shanghai", "onsite", "Store 4", 45)
    assert call.caller.role == "recruiter"


@pytest.mark.parametrize("panel", [["ann-r", "nobody"], ["lu-l"], ["hanna-hr"], ["old-r"]],
                         ids=["unknown", "other division", "not an interviewer", "revoked"])
def test_a_panel_member_who_is_not_a_known_interviewer_of_the_division_is_a_422_and_nothing_is_scheduled(gw, panel):
    r = gw.client.post("/v1/applications/app_1/interviews", headers=gw.as_("recruiter"),
                       json={**BODY, "interviewers": panel})
    assert r.status_code == 422 and error(r)["field"] == "interviewers"
    assert panel[-1] in error(r)["message"]
    assert gw.fake.calls_to(interview_feedback.ScheduleInterview) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"duration_minutes": 0}, "duration_minutes"), ({"duration_minutes": 481}, "duration_minutes"),
    ({"timezone": "Nowhere/Town"}, "timezone"), ({"meeting_url": "file:///etc/passwd"}, "meeting_url"),
    ({"slots": ["2027-01-01T09:00:00Z"]}, "slots"),
])
def test_bad_scheduling_input_is_a_422_naming_the_field_and_reaches_no_service(gw, change, field):
    body = {**BODY, **change}
    if "slots" in change:
        del body["scheduled_at"]
    r = gw.client.post("/v1/applications/app_1/interviews", headers=gw.as_("recruiter"), json=body)
    assert r.status_code == 422 and error(r)["field"] == field, r.text
    assert gw.fake.calls == []


def test_slots_are_offered_and_a_clash_is_the_services_409_naming_interviewers(gw):
    gw.fake.answer(interview_feedback.ScheduleInterview,
                   Conflict("bo-r already sits in an interview", code="interviewer_clash", field="interviewers"))
    body = {"interviewers": ["bo-r"], "competencies": ["craft"],
            "slots": ["2027-01-04T09:00:00Z", "2027-01-04T11:00:00Z"]}
    r = gw.client.post("/v1/applications/app_1/interviews", headers=gw.as_("hr"), json=body)
    assert r.status_code == 409 and error(r) == {"code": "interviewer_clash", "field": "interviewers",
                                                 "message": "bo-r already sits in an interview"}
    [call] = gw.fake.calls_to(interview_feedback.ScheduleInterview)
    assert call.kwargs["slots"] == body["slots"] and call.kwargs["starts_at"] is None


def test_patch_sends_only_what_changes_and_checks_a_new_panel(gw):
    gw.fake.answer(interview_feedback.GetInterview, interview())
    gw.fake.answer(interview_feedback.PatchInterview, interview(sequence=1))
    rec = gw.as_("recruiter")
    r = gw.client.patch("/v1/interviews/int_1", headers=rec, json={"starts_at": "2027-01-05T10:00:00Z",
                                                                   "location": None})
    assert r.status_code == 200 and r.json()["sequence"] == 1
    [call] = gw.fake.calls_to(interview_feedback.PatchInterview)
    assert call.kwargs == {"interview_id": "int_1", "starts_at": "2027-01-05T10:00:00Z", "location": None,
                           "allow_clash": False}
    assert gw.fake.calls_to(interview_feedback.GetInterview) == []  # no panel change, no look-up
    bad = gw.client.patch("/v1/interviews/int_1", headers=rec, json={"interviewers": ["lu-l"]})
    assert bad.status_code == 422 and error(bad)["field"] == "interviewers"
    assert len(gw.fake.calls_to(interview_feedback.PatchInterview)) == 1
    ok = gw.client.patch("/v1/interviews/int_1", headers=rec, json={"interviewers": ["bo-r"]})
    assert ok.status_code == 200
    for body, field in (({}, "starts_at"), ({"duration_minutes": None}, "duration_minutes"),
                        ({"colour": "red"}, "colour")):
        r = gw.client.patch("/v1/interviews/int_1", headers=rec, json=body)
        assert r.status_code == 422 and error(r)["field"] == field, r.text
    assert gw.client.patch("/v1/interviews/int_1", headers=gw.as_("interviewer"),
                           json={"location": "x"}).status_code == 403


def test_cancel_and_attendance_are_forwarded_once_per_idempotency_key(gw):
    gw.fake.answer(interview_feedback.CancelInterview, interview(status="cancelled"))
    gw.fake.answer(interview_feedback.RecordAttendance, interview())
    rec = {**gw.as_("recruiter"), "Idempotency-Key": "k-cancel-1"}
    for _ in range(2):
        r = gw.client.post("/v1/interviews/int_1/cancel", headers=rec, json={"reason": "candidate ill"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [c.kwargs for c in gw.fake.calls_to(interview_feedback.CancelInterview)] == [
        {"interview_id": "int_1", "reason": "candidate ill"}]
    assert error(gw.client.post("/v1/interviews/int_1/cancel", headers=gw.as_("hr"), json={}))["field"] == "reason"
    r = gw.client.post("/v1/interviews/int_1/attendance", headers=gw.as_("hr"), json={"candidate": "no_show"})
    assert r.status_code == 200
    bad = gw.client.post("/v1/interviews/int_1/attendance", headers=gw.as_("hr"), json={"candidate": "late"})
    assert bad.status_code == 422 and error(bad)["field"] == "candidate"


def test_a_fail_decision_takes_a_reason_as_its_note(gw):
    gw.fake.answer(interview_feedback.Decide, lambda call: {
        "application_id": "app_1", "outcome": "fail", "next_status": "rejected", "note": call.kwargs["note"],
        "decided_by": "hanna", "decided_at": "2026-12-05T09:00:00Z", "approvals": []})
    r = gw.client.post("/v1/applications/app_1/decision", headers=gw.as_("hr"),
                       json={"outcome": "fail", "reason": "no right to work"})
    assert r.status_code == 200 and r.json()["note"] == "no right to work"
    bad = gw.client.post("/v1/applications/app_1/decision", headers=gw.as_("hr"),
                         json={"outcome": "pass", "reason": "great"})
    assert bad.status_code == 422 and error(bad)["field"] == "reason"
    assert len(gw.fake.calls_to(interview_feedback.Decide)) == 1


def test_the_kit_is_put_and_read_per_requisition(gw):
    kit = {"requisition_id": "req_1", "division": "retail", "updated_by": "rita", "updated_at": None,
           "competencies": {"Craft": {"questions": ["Walk me through a latte"], "guidance": "care"}}}
    gw.fake.answer(interview_feedback.PutKit, kit)
    gw.fake.answer(interview_feedback.GetKit, kit)
    body = {"competencies": {"Craft": {"questions": ["Walk me through a latte"], "guidance": "care"}}}
    r = gw.client.put("/v1/requisitions/req_1/kit", headers=gw.as_("recruiter"), json=body)
    assert r.status_code == 200 and r.json() == kit
    assert gw.fake.calls_to(interview_feedback.PutKit)[0].kwargs == {"requisition_id": "req_1", **body}
    assert gw.client.get("/v1/requisitions/req_1/kit", headers=gw.as_("hr")).json() == kit
    bad = gw.client.put("/v1/requisitions/req_1/kit", headers=gw.as_("recruiter"),
                        json={"competencies": {"Craft": {"questions": ["x" * 1001]}}})
    assert bad.status_code == 422 and error(bad)["field"].startswith("competencies")
    assert gw.client.put("/v1/requisitions/req_1/kit", headers=gw.as_("interviewer"), json=body).status_code == 403


def test_the_portal_picks_a_slot_as_the_portal_for_the_tokens_application(gw):
    secret = gw.app.state.settings.portal_secret
    token = portal_token("a", "app_7", secret)
    chosen = {**sample(interview_feedback.CandidateInterview), "status": "scheduled",
              "starts_at": "2027-01-04T09:00:00Z"}
    gw.fake.answer(interview_feedback.PickSlot, chosen)
    r = gw.client.post(f"/portal/{token}/slot", json={"starts_at": "2027-01-04T09:00:00Z"})
    assert r.status_code == 200 and r.json()["starts_at"] == "2027-01-04T09:00:00Z"
    [call] = gw.fake.calls_to(interview_feedback.PickSlot)
    assert call.caller == PORTAL and call.kwargs == {"application_id": "app_7", "starts_at": "2027-01-04T09:00:00Z"}
    gw.fake.answer(interview_feedback.PickSlot, Conflict("starts_at: this time is not one of the slots offered",
                                                         code="slot_not_offered", field="starts_at"))
    taken = gw.client.post(f"/portal/{token}/slot", json={"starts_at": "2027-01-04T10:00:00Z"})
    assert taken.status_code == 409 and error(taken)["code"] == "slot_not_offered"
    assert gw.client.post(f"/portal/{token}/slot", json={"starts_at": 5}).status_code == 422
    assert gw.client.post("/portal/forged/slot", json={"starts_at": "2027-01-04T09:00:00Z"}).status_code == 404
    reengagement = portal_token("r", "reg_1", secret)
    assert gw.client.post(f"/portal/{reengagement}/slot",
                          json={"starts_at": "2027-01-04T09:00:00Z"}).status_code == 404
    assert len(gw.fake.calls_to(interview_feedback.PickSlot)) == 2

    gw.fake.answer(interview_feedback.RequestOtherTimes, {**chosen, "status": "awaiting_candidate",
                                                          "other_times_requested": True})
    asked = gw.client.post(f"/portal/{token}/other-times", json={"note": "evenings"})
    assert asked.status_code == 200 and asked.json()["other_times_requested"] is True
    assert gw.fake.calls_to(interview_feedback.RequestOtherTimes)[0].kwargs == {"application_id": "app_7",
                                                                                "note": "evenings"}


def test_the_portal_shows_the_interview_to_pick_from(gw):
    gw.fake.answer(sourcing.GetApplication, application(id="app_7", status="interviewing", timeline=[]))
    gw.fake.answer(notification.GetSurvey, {"sent": False, "answered": False})
    gw.fake.answer(talent_pool.ConsentStatus, {"in_pool": False, "withdrawn": False})
    gw.fake.answer(interview_feedback.CandidateInterviewOf, {
        **sample(interview_feedback.CandidateInterview), "status": "awaiting_candidate", "starts_at": None,
        "timezone": "Europe/Berlin", "duration_minutes": 60, "other_times_requested": False,
        "slots": ["2027-01-04T09:00:00Z", "2027-01-05T09:00:00Z"]})
    token = portal_token("a", "app_7", gw.app.state.settings.portal_secret)
    view = gw.client.get(f"/portal/{token}", headers={"Accept": "application/json"}).json()
    assert view["interview"]["can_pick"] is True and len(view["interview"]["slots"]) == 2
    assert "interviewers" not in view["interview"]
    # the page: each time in words in the interview's zone, one radio each, and the way to ask for others
    html = gw.client.get(f"/portal/{token}?lang=zh-CN").text
    assert html.count('name="starts_at"') == 2 and 'id="other-times"' in html
    assert "2027年1月4日 周一 10:00–11:00（Europe/Berlin，UTC+01:00）" in html


def panel_interview():
    return interview(interviewers=["ann-r"], application_id="app_1", starts_at="2027-01-04T09:00:00Z",
                     ends_at="2027-01-04T10:00:00Z", timezone="Asia/Shanghai", format="onsite",
                     location="Store 4", meeting_url=None, status="scheduled",
                     kit={"requisition_id": "req_1", "division": "retail", "updated_by": "rita", "updated_at": None,
                          "competencies": {"Craft": {"questions": ["Walk me through a latte"],
                                                     "guidance": "Look for care"}}})


def test_the_panels_brief_names_the_candidate_in_the_interviews_zone_and_is_audited(gw):
    gw.fake.answer(interview_feedback.GetInterview, panel_interview())
    gw.fake.answer(sourcing.GetApplication, application(candidate_name="Mei Lin", requisition_title="Barista"))
    key_id, key = gw.key("interviewer", ("retail",), name="ann-r")
    r = gw.client.get("/v1/interviews/int_1/brief", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    brief = r.json()
    assert (brief["candidate_name"], brief["requisition_title"]) == ("Mei Lin", "Barista")
    assert brief["local_start"] == "2027-01-04T17:00:00+08:00" and brief["timezone"] == "Asia/Shanghai"
    assert brief["kit"]["competencies"]["Craft"]["questions"] == ["Walk me through a latte"]
    [asked] = gw.fake.calls_to(interview_feedback.GetInterview)
    assert asked.caller.key_id == key_id  # the service decides whether the key sits on this panel
    [read] = gw.fake.calls_to(sourcing.GetApplication)
    assert read.caller.role != "interviewer" and read.kwargs == {"application_id": "app_1"}
    audit = gw.call(lambda: gw.app.state.gateway.audit.audit.find_one({"key_id": key_id}))
    assert audit is not None and "cand_1" in str(audit)

    gw.fake.reset()
    gw.fake.answer(interview_feedback.GetInterview, NotFoundError("no interview int_1"))
    hidden = gw.client.get("/v1/interviews/int_1/brief", headers={"Authorization": f"Bearer {key}"})
    assert hidden.status_code == 404 and gw.fake.calls_to(sourcing.GetApplication) == []


def test_the_interviewers_console_page_shows_whom_when_and_the_kit(gw):
    gw.fake.answer(interview_feedback.GetInterview, panel_interview())
    gw.fake.answer(interview_feedback.ListInterviews, {"items": [], "next_cursor": None})
    gw.fake.answer(sourcing.GetApplication, application(candidate_name="Mei Lin", requisition_title="Barista"))
    _, key = gw.key("interviewer", ("retail",), name="ann-r")
    gw.client.cookies.clear()
    gw.client.get("/console/login")
    csrf = gw.client.cookies[LOGIN_COOKIE]
    assert gw.client.post("/console/login", data={"api_key": key, "csrf": csrf},
                          headers={"Origin": "http://testserver"}).status_code == 303
    cv = {**sample(sourcing.DocumentView), "id": "doc_cv", "kind": "cv", "filename": "mei-lin-cv.pdf"}
    gw.fake.answer(sourcing.ListDocuments, {"items": [{**cv, "id": "doc_other", "kind": "other",
                                                       "filename": "portfolio.pdf"}, cv]})
    page = gw.client.get("/console/interviews/int_1")
    assert page.status_code == 200, page.text
    for text in ("Mei Lin", "Barista", "Mon 4 Jan 2027, 17:00–18:00 (Asia/Shanghai, UTC+08:00)", "Store 4",
                 "Walk me through a latte", "Look for care"):
        assert text in page.text, text
    # the viewer's own zone is filled in by the browser (console.js) from the instants given here
    assert 'data-start="2027-01-04T09:00:00Z" data-end="2027-01-04T10:00:00Z"' in page.text
    # the CV first, linked through the console (the session's key reads it, scoped and audited as the API's)
    assert page.text.index('href="/console/documents/doc_cv"') < page.text.index('href="/console/documents/doc_other"')
    assert "CV: mei-lin-cv.pdf" in page.text
    [listed] = gw.fake.calls_to(sourcing.ListDocuments)
    assert listed.kwargs == {"application_id": "app_1"} and listed.caller.role == "interviewer"
    gw.client.cookies.clear()


def test_an_interviewers_email_given_with_its_key_is_shown_and_travels_with_the_panel(gw):
    admin = gw.as_("admin")
    gw.fake.registers("retail")
    r = gw.client.post("/v1/api-keys", headers=admin, json={"name": "eve-r", "role": "interviewer",
                                                            "divisions": ["retail"], "email": "eve@example.com"})
    assert r.status_code == 201 and r.json()["email"] == "eve@example.com", r.text
    listed = gw.client.get("/v1/api-keys?limit=200", headers=admin).json()["items"]
    assert {k["name"]: k["email"] for k in listed}["eve-r"] == "eve@example.com"
    assert {k["name"]: k["email"] for k in listed}["ann-r"] is None  # a key made without one
    bad = gw.client.post("/v1/api-keys", headers=admin, json={"name": "x", "role": "interviewer",
                                                              "divisions": ["retail"], "email": "not-an-address"})
    assert bad.status_code == 422 and error(bad)["field"] == "email"
    assert "x" not in {k["name"] for k in gw.client.get("/v1/api-keys?limit=200", headers=admin).json()["items"]}

    gw.fake.answer(interview_feedback.ScheduleInterview, interview(status="scheduled"))
    r = gw.client.post("/v1/applications/app_1/interviews", headers=gw.as_("recruiter"),
                       json={**BODY, "interviewers": ["eve-r", "ann-r"]})
    assert r.status_code == 201, r.text
    [call] = gw.fake.calls_to(interview_feedback.ScheduleInterview)
    assert call.kwargs["panel"] == [{"name": "eve-r", "email": "eve@example.com"}, {"name": "ann-r", "email": None}]

    gw.fake.answer(interview_feedback.GetInterview, interview())
    gw.fake.answer(interview_feedback.PatchInterview, interview(sequence=1))
    r = gw.client.patch("/v1/interviews/int_1", headers=gw.as_("recruiter"), json={"interviewers": ["eve-r"]})
    assert r.status_code == 200, r.text
    [patch] = gw.fake.calls_to(interview_feedback.PatchInterview)
    assert patch.kwargs["panel"] == [{"name": "eve-r", "email": "eve@example.com"}]
    gw.client.patch("/v1/interviews/int_1", headers=gw.as_("recruiter"), json={"location": "Store 9"})
    assert "panel" not in gw.fake.calls_to(interview_feedback.PatchInterview)[-1].kwargs  # no re-staffing
    # the panel's addresses are the gateway's to give, never a request's
    r = gw.client.post("/v1/applications/app_1/interviews", headers=gw.as_("recruiter"),
                       json={**BODY, "panel": [{"name": "ann-r", "email": "me@evil.example"}]})
    assert r.status_code == 422 and error(r)["field"] == "panel"
