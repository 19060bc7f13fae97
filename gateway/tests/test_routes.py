"""The gateway's routes in process, against a fake of the services (gateway/testing.py): no broker, no
service; real Redis and MongoDB (API keys, rate limits, idempotency records, the audit log)."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from pymongo import MongoClient

from gateway.console.session import COOKIE, LOGIN_COOKIE
from gateway.routes.portal import PORTAL
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.bus import topology
from shared.bus.aio_rpc import RemoteError, ServiceUnavailable
from shared.contracts import interview_feedback, notification, sourcing, talent_pool
from shared.contracts.common import SERVICES
from shared.contracts.rpc import HEALTH
from shared.errors import Conflict, Invalid, NotFound
from shared.tokens import portal_token
from tests.support.applications import application

NEW_REQUISITION = {"title": "Barista", "division": "retail", "department": "Cafe", "tier": "basic",
                   "required_skills": ["espresso"]}


# A requisition's posting as sourcing answers it when none was given (the careers issue).
POSTING = {"description": "", "employment_type": "full_time", "salary_range": None, "remote": False, "closes_at": None,
           "published": False, "published_at": None, "updated_at": None, "history": []}


def requisition(call=None, **fields) -> dict:
    """A requisition as sourcing answers it (shared/contracts/sourcing.py; from a create call's arguments, when
    given)."""
    data = call.kwargs if call is not None else NEW_REQUISITION
    return {"id": "req_1", "status": "open", "urgent": False, "skills": [], "min_years": 0, "location": None,
            "headcount": 1, "knockout_questions": [], "created_at": "2026-01-05T09:00:00Z", "closed_at": None,
            "close_reason": None, **POSTING, **data, **fields}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "routes") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.connected = True
    gateway.fake.depths = {}
    return gateway


def error(response) -> dict:
    return response.json()["error"]


# ---------------------------------------------------------------------------------------------- auth

def test_no_key_or_an_unknown_key_is_401_and_reaches_no_service(gw):
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer hl_not_a_key"}):
        response = gw.client.get("/v1/requisitions", headers=headers)
        assert response.status_code == 401 and error(response)["code"] == "unauthenticated", headers
    assert gw.fake.calls == []


def test_a_role_the_route_does_not_allow_is_403_and_reaches_no_service(gw):
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    gw.fake.answer(sourcing.CreateRequisition, requisition)
    refused = [
        gw.client.get("/v1/requisitions", headers=gw.as_("interviewer")),  # staff only
        gw.client.post("/v1/requisitions", json=NEW_REQUISITION, headers=gw.as_("recruiter")),  # hr, admin
        gw.client.get("/v1/api-keys", headers=gw.as_("hr")),  # admin only
    ]
    for response in refused:
        assert response.status_code == 403 and error(response)["code"] == "forbidden"
    assert "role 'interviewer' may not do this" in error(refused[0])["message"]
    assert gw.fake.calls == []
    # the roles that may, may
    assert gw.client.get("/v1/requisitions", headers=gw.as_("recruiter")).status_code == 200
    assert gw.client.post("/v1/requisitions", json=NEW_REQUISITION, headers=gw.as_("hr")).status_code == 201


# ---------------------------------------------------------------------------------------------- forwarding

def test_a_get_is_forwarded_with_its_query_and_the_callers_identity(gw):
    page = {"items": [requisition()], "next_cursor": "c2"}
    gw.fake.answer(sourcing.ListRequisitions, page)
    key_id, key = gw.key("hr", ("retail", "cafes"))
    response = gw.client.get("/v1/requisitions", params={"division": "retail", "status": "open", "limit": 5},
                             headers={"Authorization": f"Bearer {key}", "X-Request-Id": "req-abc"})
    assert response.status_code == 200 and response.json() == page
    assert response.headers["X-Request-Id"] == "req-abc"
    [call] = gw.fake.calls_to(sourcing.ListRequisitions)
    assert call.kwargs == {"division": "retail", "status": "open", "urgent": None, "limit": 5, "cursor": None}
    assert (call.caller.key_id, call.caller.role, call.caller.divisions) == (key_id, "hr", ("cafes", "retail"))
    assert call.correlation_id == "req-abc"


def test_a_post_with_an_idempotency_key_is_done_once_and_its_answer_replayed(gw):
    gw.fake.answer(sourcing.CreateRequisition, lambda call: requisition(call, id=f"req_{len(gw.fake.calls)}"))
    headers = {**gw.as_("hr"), "Idempotency-Key": "open-barista-1"}
    first = gw.client.post("/v1/requisitions", json=NEW_REQUISITION, headers=headers)
    again = gw.client.post("/v1/requisitions", json=NEW_REQUISITION, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["id"] == "req_1" and first.json()["title"] == "Barista"
    [call] = gw.fake.calls_to(sourcing.CreateRequisition)
    assert call.kwargs["required_skills"] == ["espresso"] and call.kwargs["headcount"] == 1
    # the same key with another body is refused, and changes nothing
    other = gw.client.post("/v1/requisitions", json={**NEW_REQUISITION, "title": "Baker"}, headers=headers)
    assert other.status_code == 422 and error(other)["field"] == "Idempotency-Key"
    assert len(gw.fake.calls_to(sourcing.CreateRequisition)) == 1
    # without a key, each POST is its own
    plain = {"Authorization": headers["Authorization"]}
    assert gw.client.post("/v1/requisitions", json=NEW_REQUISITION, headers=plain).json()["id"] == "req_2"
    assert len(gw.fake.calls_to(sourcing.CreateRequisition)) == 2


@pytest.mark.parametrize("body, field, says", [
    ({k: v for k, v in NEW_REQUISITION.items() if k != "title"}, "title", "Field required"),
    ({**NEW_REQUISITION, "headcount": "lots"}, "headcount", "integer"),
    ({**NEW_REQUISITION, "required_skills": []}, "required_skills", "at least 1"),
    ({**NEW_REQUISITION, "salary": 1}, "salary", "unknown field"),
])
def test_a_body_that_breaks_the_contract_is_a_422_naming_the_field_and_reaches_no_service(gw, body, field, says):
    gw.fake.answer(sourcing.CreateRequisition, requisition)
    response = gw.client.post("/v1/requisitions", json=body, headers=gw.as_("hr"))
    assert response.status_code == 422
    assert error(response)["code"] == "validation_error" and error(response)["field"] == field
    assert error(response)["message"].startswith(f"{field}: ") and says in error(response)["message"]
    assert gw.fake.calls == []


def test_a_declared_call_checks_its_arguments_before_anything_is_sent(gw):
    """Routes call sourcing by its declarations (shared/contracts/sourcing.py): an argument the declaration
    refuses is a 422 naming it, and no service is asked."""
    gw.fake.answer(sourcing.PutRetentionPolicy, lambda call: {"division": call.kwargs["division"],
                                                                        "rejected_days": call.kwargs["rejected_days"],
                                                                        "pool_days": call.kwargs["pool_days"]})
    admin = gw.as_("admin")
    too_long = gw.client.get(f"/v1/requisitions/{'r' * 101}", headers=admin)
    assert too_long.status_code == 422 and error(too_long)["field"] == "requisition_id"
    # a GET's answer may be sent back as is, but only to its own division's path
    elsewhere = gw.client.put("/v1/retention-policies/cafes", json={"division": "retail", "rejected_days": 30,
                                                                     "pool_days": 60}, headers=admin)
    assert elsewhere.status_code == 422 and error(elsewhere)["field"] == "division"
    assert gw.fake.calls == []
    gw.fake.registers("retail")
    sent_back = gw.client.put("/v1/retention-policies/retail", json={"division": "retail", "rejected_days": 30,
                                                                      "pool_days": 60}, headers=admin)
    assert sent_back.json() == {"division": "retail", "rejected_days": 30, "pool_days": 60}
    [call] = gw.fake.calls_to(sourcing.PutRetentionPolicy)
    assert call.kwargs == {"division": "retail", "rejected_days": 30, "pool_days": 60}


def test_a_policy_names_a_registered_division(gw):
    """PUT of a notification or retention policy: sourcing is asked (as the system) whether the path's division is
    registered; a typo is 422 naming `division`, and the policy's service is never called."""
    gw.fake.registers("retail")
    gw.fake.answer(sourcing.PutRetentionPolicy, lambda call: {**call.kwargs})
    admin = gw.as_("admin")
    for path, body in (("/v1/retention-policies/retial", {"rejected_days": 30, "pool_days": 60}),
                       ("/v1/notification-policies/retial", {"guide_after": 60})):
        typo = gw.client.put(path, json=body, headers=admin)
        assert typo.status_code == 422 and error(typo)["field"] == "division", typo.text
        assert "'retial' is not a registered division" in error(typo)["message"]
    assert {(c.service, c.method) for c in gw.fake.calls} == {("sourcing", "get_division")}
    assert {c.caller.name for c in gw.fake.calls} == {"gateway-divisions"}
    assert gw.client.put("/v1/retention-policies/retail", json={"rejected_days": 30, "pool_days": 60},
                         headers=admin).status_code == 200


# ---------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("raised, status, code, field", [
    (NotFound("requisition req_9 not found"), 404, "not_found", None),
    (Conflict("the requisition is closed", code="requisition_closed"), 409, "requisition_closed", None),
    (Invalid("min_years: above the role's maximum", field="min_years"), 422, "validation_error", "min_years"),
])
def test_a_services_domain_error_is_its_status_and_code(gw, raised, status, code, field):
    gw.fake.answer(sourcing.GetRequisition, raised)
    response = gw.client.get("/v1/requisitions/req_9", headers=gw.as_("recruiter"))
    assert response.status_code == status
    expected = {"code": code, "message": raised.message, **({"field": field} if field else {})}
    assert response.json() == {"error": expected}


def test_a_service_away_is_a_503_with_retry_after_and_a_service_bug_a_500(gw):
    gw.fake.answer(sourcing.GetRequisition, ServiceUnavailable("sourcing", "no reply within 8s"))
    away = gw.client.get("/v1/requisitions/req_1", headers=gw.as_("recruiter"))
    assert away.status_code == 503 and away.headers["Retry-After"] == "5"
    assert error(away) == {"code": "service_unavailable", "message": "service 'sourcing' is unavailable: no reply "
                                                                     "within 8s"}
    gw.fake.answer(sourcing.GetRequisition, RemoteError("sourcing", "KeyError", "'title'"))
    bug = gw.client.get("/v1/requisitions/req_1", headers=gw.as_("recruiter"))
    assert bug.status_code == 500 and error(bug) == {"code": "internal_error",
                                                     "message": "the sourcing service failed to answer"}
    assert "KeyError" not in bug.text


# ---------------------------------------------------------------------------------------------- the audit log

def test_a_read_of_personal_data_is_recorded_in_the_audit_log_with_field_names_only(gw):
    candidate = f"cand_{secrets.token_hex(4)}"
    gw.fake.answer(sourcing.GetApplication, application(
        id="app_1", candidate_id=candidate, status="shortlisted", candidate_name="Ann Lee", timeline=[],
        screening={"passed": True, "score": 80, "match": 90, "matched_skills": ["espresso"], "missing_skills": [],
                   "reasons": []}))
    key_id, key = gw.key("recruiter")
    read = gw.client.get("/v1/applications/app_1", headers={"Authorization": f"Bearer {key}"})
    assert read.status_code == 200 and read.json()["candidate_name"] == "Ann Lee"

    log = gw.client.get("/v1/audit", params={"candidate_id": candidate}, headers=gw.as_("admin"))
    assert log.status_code == 200
    [record] = log.json()["items"]
    assert {k: record[k] for k in ("candidate_id", "key_id", "role", "caller_divisions", "division", "action",
                                   "fields")} == {
        "candidate_id": candidate, "key_id": key_id, "role": "recruiter", "caller_divisions": ["retail"],
        "division": "retail", "action": "GET /v1/applications/{application_id}",
        "fields": ["candidate_name", "screening"]}
    assert "Ann Lee" not in log.text and "espresso" not in log.text


def match(candidate_id: str, **fields) -> dict:
    """A match as talent_pool answers it (shared/contracts/talent_pool.py Match)."""
    return {"candidate_id": candidate_id, "name": f"Name of {candidate_id}", "score": 80,
            "matched_skills": ["espresso"], "missing_skills": [], "prior_average": 4.2,
            "reasons": ["Has all 1 required skill: espresso."], "pooled_reason": "declined", **fields}


def audit_documents(gw) -> list[dict]:
    with MongoClient(gw.settings.mongo_url) as mongo:
        return list(mongo[gw.settings.database_name("gateway")].audit.find({}).sort("_id", 1))


def test_matches_are_passed_on_as_sent_and_one_audit_record_lists_every_candidate(gw):
    tag = secrets.token_hex(4)
    found = [match(f"cand_{tag}{i}", missing_skills=[] if i else ["latte art"], prior_average=None if i else 3.5)
             for i in range(3)]
    gw.fake.answer(talent_pool.GetMatches, found)
    key_id, key = gw.key("recruiter")
    before = len(audit_documents(gw))
    read = gw.client.get("/v1/requisitions/req_1/matches", headers={"Authorization": f"Bearer {key}"})
    assert read.status_code == 200 and read.headers["content-type"] == "application/json"
    assert read.json() == found  # the service's JSON, field for field
    # one document for the request, naming every candidate with the fields read of each
    docs = audit_documents(gw)
    assert len(docs) == before + 1
    doc = docs[-1]
    assert doc["candidate_ids"] == [m["candidate_id"] for m in found] and doc["key_id"] == key_id
    assert [r["fields"] for r in doc["reads"]] == [
        ["name", "matched_skills", "missing_skills", "prior_average"], ["name", "matched_skills"],
        ["name", "matched_skills"]]
    # and each candidate's own listing finds it, as one record of that candidate
    for m, fields in zip(found, [r["fields"] for r in doc["reads"]], strict=True):
        [record] = gw.client.get("/v1/audit", params={"candidate_id": m["candidate_id"]},
                                 headers=gw.as_("admin")).json()["items"]
        assert (record["candidate_id"], record["action"], record["fields"], record["division"]) == (
            m["candidate_id"], "GET /v1/requisitions/{requisition_id}/matches", fields, "retail")
    assert "Name of" not in str(docs)
    # an answer that does not hold to the declaration fails, as it would in the service
    gw.fake.answer(talent_pool.GetMatches, [{**found[0], "email": "leak@example.org"}])
    with pytest.raises(ValueError, match="email"):
        gw.client.get("/v1/requisitions/req_1/matches", headers={"Authorization": f"Bearer {key}"})


def test_the_audit_listing_merges_old_one_candidate_records_with_new_ones_newest_first(gw):
    from shared.ids import new_id
    from shared.timeutil import utcnow

    candidate = f"cand_{secrets.token_hex(4)}"
    old = [{"_id": new_id("aud"), "at": utcnow(), "candidate_id": candidate, "key_id": "k_old", "key_name": "old",
            "role": "hr", "caller_divisions": ["retail"], "division": "retail",
            "action": "GET /v1/candidates/{candidate_id}", "fields": ["name"], "trace_id": None} for _ in range(2)]
    with MongoClient(gw.settings.mongo_url) as mongo:
        mongo[gw.settings.database_name("gateway")].audit.insert_many(old)
    gw.fake.answer(talent_pool.GetMatches, [match(candidate), match(f"cand_{secrets.token_hex(4)}")])
    for _ in range(2):
        assert gw.client.get("/v1/requisitions/req_1/matches", headers=gw.as_("hr")).status_code == 200
    admin = gw.as_("admin")
    items = gw.client.get("/v1/audit", params={"candidate_id": candidate}, headers=admin).json()["items"]
    assert [r["key_id"] for r in items][2:] == ["k_old", "k_old"] and len(items) == 4
    assert [r["id"] for r in items] == sorted((r["id"] for r in items), reverse=True)
    assert items[3] == {"id": old[0]["_id"], "at": items[3]["at"], "candidate_id": candidate, "key_id": "k_old",
                        "key_name": "old", "role": "hr", "caller_divisions": ["retail"], "division": "retail",
                        "action": "GET /v1/candidates/{candidate_id}", "fields": ["name"], "trace_id": None}
    # pages of one cross from the new shape to the old
    paged, cursor = [], None
    while True:
        page = gw.client.get("/v1/audit", params={"candidate_id": candidate, "limit": 1,
                                                  **({"cursor": cursor} if cursor else {})}, headers=admin).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == items


# ---------------------------------------------------------------------------------------------- operations

def test_readyz_names_the_service_that_does_not_answer(gw):
    ready = gw.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"broker": "ok", "redis": "ok", "mongo": "ok",
                                                          **{s: "ok" for s in SERVICES}}}
    assert sorted(c.service for c in gw.fake.calls_to(HEALTH["screening"]) + gw.fake.calls_to(
        HEALTH["sourcing"])) == ["screening", "sourcing"]

    gw.fake.answer(HEALTH["screening"], ServiceUnavailable("screening", "no reply within 3s"))
    gw.fake.connected = False
    not_ready = gw.client.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.headers["Retry-After"] == "5"
    body = not_ready.json()
    assert body["failing"] == ["broker", "screening"] and body["error"]["code"] == "not_ready"
    assert body["checks"]["screening"] == "down: ServiceUnavailable" and body["checks"]["sourcing"] == "ok"


def test_the_admins_service_list_and_the_queue_metrics_go_through_the_seam(gw):
    gw.fake.answer(HEALTH["notification"], ServiceUnavailable("notification", "no reply within 3s"))
    listed = gw.client.get("/v1/admin/services", headers=gw.as_("admin"))
    assert listed.status_code == 200
    statuses = {item["service"]: item["status"] for item in listed.json()["items"]}
    assert statuses == {**{s: "up" for s in SERVICES}, "notification": "down"}

    gw.fake.depths = {topology.rpc_queue("sourcing"): (7, 2)}
    scraped = gw.client.get("/metrics")
    assert scraped.status_code == 200
    queue = re.escape(topology.rpc_queue("sourcing"))
    assert re.search(r'hireloop_queue_messages\{[^}]*queue="' + queue + r'"[^}]*\} 7\.0', scraped.text)


# ---------------------------------------------------------------------------------------------- portal, console

def test_the_portal_asks_the_owning_services_as_the_portal_and_shows_the_candidate_view(gw):
    gw.fake.answer(sourcing.GetApplication, application(id="app_7", status="offered", tier="basic",
                                                                requisition_title="Barista", timeline=[],
                                                                candidate_id="cand_7", division="retail"))
    gw.fake.answer(notification.GetSurvey, {"sent": False, "answered": False})
    gw.fake.answer(talent_pool.ConsentStatus, {"in_pool": False, "withdrawn": False})
    token = portal_token("a", "app_7", gw.client.app.state.settings.portal_secret)
    response = gw.client.get(f"/portal/{token}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    view = response.json()
    assert (view["application_id"], view["status"], view["can_respond"]) == ("app_7", "offered", True)
    assert "cand_7" not in response.text and "retail" not in response.text
    assert {c.caller for c in gw.fake.calls} == {PORTAL}
    assert gw.fake.calls_to(interview_feedback.ListApprovals) == []  # a basic role has no approvals
    assert gw.client.get("/portal/not-a-token").status_code == 404


def test_the_console_signs_in_and_shows_what_the_services_answer_through_the_api(gw):
    gw.fake.answer(sourcing.ListRequisitions, {"items": [requisition(title="Night baker")],
                                                       "next_cursor": None})
    key_id, key = gw.key("hr")
    gw.client.cookies.clear()
    gw.client.get("/console/login")
    csrf = gw.client.cookies[LOGIN_COOKIE]
    signed_in = gw.client.post("/console/login", data={"api_key": key, "csrf": csrf},
                               headers={"Origin": "http://testserver"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/requisitions"
    assert gw.client.cookies.get(COOKIE)

    page = gw.client.get("/console/requisitions")
    assert page.status_code == 200 and "Night baker" in page.text
    [call] = gw.fake.calls_to(sourcing.ListRequisitions)
    assert call.caller.key_id == key_id  # the page read the API as the signed-in key

    gw.fake.answer(sourcing.ListRequisitions, ServiceUnavailable("sourcing", "no reply within 8s"))
    away = gw.client.get("/console/requisitions")
    assert away.status_code == 503 and "text/html" in away.headers["content-type"]
    gw.client.cookies.clear()


def test_the_fake_refuses_a_call_nobody_answered(gw):
    with pytest.raises(LookupError, match="sourcing.get_requisition"):
        gw.client.get("/v1/requisitions/req_1", headers=gw.as_("recruiter"))
    [call] = gw.fake.calls
    assert json.dumps(call.kwargs) == '{"requisition_id": "req_1"}'
