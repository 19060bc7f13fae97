"""The gateway against its own OpenAPI document, on the platform as `make run` starts it: what only the real
services can show. The fuzz of every operation with valid and invalid data, checked against the document, runs in
process against services faked from their declarations (gateway/tests/test_api_fuzz.py); here:

- valid requests made by Schemathesis from the document, as a division-scoped hr key with the path ids pinned to
  real objects of its own division, so they reach the services' state machines: no 5xx, and every status,
  content type and body of the real services' answers as documented;
- what those valid requests set off behind a 2xx (screening, notices) must not end in a dead-letter queue
  either: a failure there never shows in an HTTP answer;
- the fuzzer rarely gets an object far through the hiring loop, so one scripted loop checks every answer on
  the way (interview, scorecard, decision, approvals, offer, portal, talent pool, ...) against the document.

`HIRELOOP_FUZZ_EXAMPLES` raises the number of examples for a longer local run (e.g. 200).
"""

from __future__ import annotations

import os
import re

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.test_hiring_loop import find_mail, make_key, portal_link
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# Per operation and generation phase; the coverage phase adds its own deterministic boundary cases.
MAX_EXAMPLES = int(os.environ.get("HIRELOOP_FUZZ_EXAMPLES", "12"))  # `make test-fuzz`: 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
FUZZ_DIVISION = "fuzzing"


def fuzz_config(key: str, pinned: dict[str, str] | None = None, mode: str = "all") -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20261122,
        "headers": {"Authorization": f"Bearer {key}"},
        "request-timeout": 20,
        "parameters": pinned or {},
        # Valid (with mode "all" also invalid) data; the same generated cases on every run (CI-stable); no
        # shrinking and no example database: a failure is reported as found, with its curl line.
        "generation": {"mode": mode, "max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True,
                       "database": "none"},
        # Stateful sequences are not bounded by max-examples (and parametrize does not run them anyway).
        "phases": {"stateful": {"enabled": False}},
    })


def openapi_url(platform) -> str:
    return f"{platform.base_url}/openapi.json"


@pytest.fixture(scope="session")
def hr_api(platform):
    """An hr key of its own division, whose path ids point at its requisition, application, candidate and
    interview; `POST /v1/applications` with valid data applies to a second, open requisition."""
    admin = platform.client()
    key = make_key(admin, "fuzz-hr", "hr", [FUZZ_DIVISION])
    hr = platform.client(key)
    requisition = {"division": FUZZ_DIVISION, "department": "qa", "required_skills": ["python"]}
    req = hr.post("/v1/requisitions", json={**requisition, "title": "Fuzzed", "tier": "core"}).json()
    open_req = hr.post("/v1/requisitions", json={**requisition, "title": "Applied to", "tier": "basic"}).json()
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Fay Fuzz", "email": "fay.fuzz@example.org", "skills": ["python"], "years_experience": 2}}).json()
    wait_for(lambda: hr.get(f"/v1/applications/{app['id']}").json(), lambda a: a["status"] == "shortlisted",
             what="shortlisted")
    # A panel names known interviewers of the division (the interviews issue): an interviewer key of its own.
    make_key(admin, "fuzz-int", "interviewer", [FUZZ_DIVISION])
    interview = hr.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["fuzz-int"], "scheduled_at": "2026-12-01T09:00:00Z", "competencies": ["python"]}).json()
    # Path parameters only: the query's `division` filters stay fuzzed.
    pinned = {"path.requisition_id": req["id"], "path.application_id": app["id"],
              "path.candidate_id": app["candidate_id"], "path.interview_id": interview["id"],
              "path.division": FUZZ_DIVISION}
    # Valid data only: invalid data is refused by the gateway before any service sees it (fuzzed in process).
    api = schemathesis.openapi.from_url(openapi_url(platform), config=fuzz_config(key, pinned, mode="positive"))

    @api.hook
    def map_case(context, case):
        # Valid applications go to the open requisition (a random requisition_id is a 404 before any of the
        # application's data is looked at). Invalid ones keep what the fuzzer made: it is what is refused.
        if (case.operation.label == "POST /v1/applications" and isinstance(case.body, dict)
                and case.meta is not None and case.meta.generation.mode.is_positive):
            case.body["requisition_id"] = open_req["id"]
        return case

    return api


def fuzzed(fixture: str):
    # DELETE /v1/api-keys/{key_id}: revoking keys is not fuzzed. An id the fuzzer picked up from a response
    # could be the session's admin key (every later test uses it) or another test's key; the documented 204
    # and 404 answers are checked on a throwaway key in test_every_answer_of_the_hiring_loop_is_documented.
    return schemathesis.pytest.from_fixture(fixture).exclude(method="DELETE", path="/v1/api-keys/{key_id}")


@fuzzed("hr_api").parametrize()
def test_valid_requests_fuzzed_as_division_hr(case):
    case.call_and_validate(checks=CHECKS)


def queue_depths(platform) -> dict[str, float]:
    text = httpx.get(f"{platform.base_url}/metrics", timeout=30).text
    found = re.findall(r'^hireloop_queue_messages\{queue="([^"]+)".*\} (\S+)$', text, re.MULTILINE)
    assert found, "no queue depths in /metrics"
    return {queue: float(value) for queue, value in found}


def test_fuzzed_requests_left_no_dead_letters(platform):
    # Runs after the fuzz tests above (pytest keeps the order of a module): once every inbox has drained,
    # no event they caused was dead-lettered.
    depths = wait_for(lambda: queue_depths(platform),
                      lambda d: all(v == 0 for q, v in d.items() if q.endswith((".inbox", ".wait"))),
                      timeout=60, what="inboxes drained")
    assert {q: v for q, v in depths.items() if q.endswith(".dlq") and v} == {}


# ------------------------------------------------------------------------------------------------------------
# Every answer along a scripted loop, checked against the document


@pytest.fixture(scope="module")
def documented(platform):
    """Clients whose every answer must be a documented status with a body matching its schema (and no 5xx)."""
    api = schemathesis.openapi.from_url(openapi_url(platform), config=fuzz_config(platform.admin_key))
    seen: list[str] = []

    def check(response: httpx.Response) -> None:
        response.read()
        request = response.request
        operation = api.find_operation_by_path(request.method, request.url.path)
        assert operation is not None, f"{request.method} {request.url.path} is not in the OpenAPI document"
        label = f"{operation.label} -> {response.status_code}"
        assert response.status_code < 500, f"{label}: {response.text}"
        assert operation.responses.find_by_status_code(response.status_code) is not None, f"undocumented {label}"
        operation.validate_response(response)
        seen.append(label)

    def client(key: str | None = None) -> httpx.Client:
        c = platform.client(key)
        c.event_hooks["response"] = [check]
        return c

    client.seen = seen
    return client


def test_every_answer_of_the_hiring_loop_is_documented(platform, documented):
    division = "doc-check"
    admin = documented()
    hr = documented(make_key(admin, "dora", "hr", [division]))
    recruiter = documented(make_key(admin, "remy", "recruiter", [division]))
    ida = documented(make_key(admin, "ida", "interviewer", [division]))
    candidate = documented("")  # the candidate on the portal: no key

    assert admin.get("/healthz").status_code == 200 and admin.get("/readyz").status_code == 200
    assert admin.get("/v1/admin/services").status_code == 200
    assert hr.put(f"/v1/notification-policies/{division}",
                  json={"survey_after": 1, "screen_out_rejection_delay": 1}).status_code == 200
    assert hr.get(f"/v1/notification-policies/{division}").status_code == 200
    throwaway = admin.post("/v1/api-keys", json={"name": "throwaway", "role": "recruiter", "divisions": [division]})
    assert throwaway.status_code == 201
    assert admin.get("/v1/api-keys", params={"limit": 2}).json()["next_cursor"]
    assert admin.delete(f"/v1/api-keys/{throwaway.json()['id']}").status_code == 204
    assert admin.delete(f"/v1/api-keys/{throwaway.json()['id']}").status_code == 404

    # a core role: decision, two approval steps, offer, phone confirmation, decline on the portal
    req = hr.post("/v1/requisitions", json={
        "title": "Auditor", "division": division, "department": "finance", "tier": "core",
        "required_skills": ["audit"], "skills": ["excel"], "min_years": 1, "location": "Berlin",
        "knockout_questions": [{"id": "permit", "question": "Do you hold a work permit?"}]}).json()
    assert hr.get(f"/v1/requisitions/{req['id']}").status_code == 200
    assert recruiter.get("/v1/requisitions", params={"division": division}).status_code == 200
    app = recruiter.post("/v1/applications", json={
        "requisition_id": req["id"], "source": "referral", "talent_pool_consent": True, "answers": {"permit": True},
        "candidate": {"name": "Dana Doc", "email": "dana.doc@example.org", "phone": "+49 30 123456",
                      "skills": ["audit", "excel"], "years_experience": 4, "location": "Berlin"}}).json()
    weak = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Wes Doc", "email": "wes.doc@example.org", "skills": ["excel"], "years_experience": 0}}).json()
    wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}").json(),
             lambda a: a["status"] == "shortlisted", what="shortlisted")
    wait_for(lambda: recruiter.get(f"/v1/applications/{weak['id']}").json(),
             lambda a: a["status"] == "screened_out", what="screened out")
    assert recruiter.get(f"/v1/requisitions/{req['id']}/applications").status_code == 200
    assert recruiter.get(f"/v1/candidates/{app['candidate_id']}").status_code == 200

    interview = recruiter.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["ida"], "scheduled_at": "2026-12-03T09:00:00Z", "competencies": ["rigour"]}).json()
    assert ida.get(f"/v1/interviews/{interview['id']}").status_code == 200
    assert ida.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": "ida", "ratings": {"rigour": 5}, "recommendation": "strong_yes",
        "highlights": ["Found the error"]}).status_code == 201
    wait_for(lambda: hr.get(f"/v1/applications/{app['id']}").json(), lambda a: a["status"] == "interviewed",
             what="interviewed")
    assert hr.get(f"/v1/interviews/{interview['id']}").json()["summary"]["average"] == 5
    assert hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass"}).status_code == 200
    steps = hr.get(f"/v1/applications/{app['id']}/approvals").json()
    assert hr.post(f"/v1/approvals/{steps[0]['id']}", json={"decision": "approve"}).status_code == 200
    assert admin.post(f"/v1/approvals/{steps[1]['id']}", json={"decision": "approve", "note": "ok"}).status_code == 200
    wait_for(lambda: hr.get(f"/v1/applications/{app['id']}").json(), lambda a: a["status"] == "offered",
             what="offered")
    assert hr.post(f"/v1/applications/{app['id']}/confirmation", json={"result": "confirmed"}).status_code == 200
    assert hr.get(f"/v1/applications/{app['id']}/notifications").status_code == 200
    assert hr.get(f"/v1/candidates/{app['candidate_id']}/notifications").status_code == 200
    token = portal_link(platform.mail_body(find_mail(platform, "dana.doc@example.org", "offer")[0]))
    token = token.split("/portal/", 1)[1]
    assert candidate.get(f"/portal/{token}", headers={"Accept": "application/json"}).status_code == 200
    assert candidate.get(f"/portal/{token}").status_code == 200  # the HTML page
    assert candidate.post(f"/portal/{token}/response", json={"response": "decline"}).status_code == 200

    # the screened-out candidate: screening override, the survey, the timing report, an outcome
    assert recruiter.post(f"/v1/applications/{weak['id']}/screening/override", json={
        "passed": False, "reason": "Confirmed: no audit experience"}).status_code == 200
    survey = find_mail(platform, "wes.doc@example.org", "experience")[0]
    survey_token = portal_link(platform.mail_body(survey)).split("/portal/", 1)[1]
    assert candidate.post(f"/portal/{survey_token}/survey", json={"score": 4}).status_code == 200
    assert hr.get("/v1/reports/notification-timing", params={"division": division}).status_code == 200
    assert hr.post(f"/v1/applications/{weak['id']}/outcome", json={"outcome": "withdrawn"}).status_code == 200

    # talent pool, matches of an urgent requisition, re-engagement
    wait_for(lambda: recruiter.get("/v1/talent-pool", params={"division": division}).json()["items"],
             lambda items: any(e["candidate_id"] == app["candidate_id"] for e in items), what="pooled")
    urgent = hr.post("/v1/requisitions", json={"title": "Lead Auditor", "division": division, "department": "finance",
                                               "tier": "basic", "urgent": True, "required_skills": ["audit"]}).json()
    # a list: until talent_pool has heard of the new requisition, the answer is a 404 error body (len 1)
    wait_for(lambda: recruiter.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
             lambda m: isinstance(m, list) and len(m) > 0, what="matches")
    assert recruiter.post(f"/v1/requisitions/{urgent['id']}/matches/{app['candidate_id']}/reengage").status_code == 202
    reengaged = find_mail(platform, "dana.doc@example.org", "Lead Auditor")[0]
    reengage_token = portal_link(platform.mail_body(reengaged)).split("/portal/", 1)[1]
    assert candidate.get(f"/portal/{reengage_token}", headers={"Accept": "application/json"}).status_code == 200
    assert hr.post(f"/v1/requisitions/{req['id']}/close", json={"reason": "cancelled"}).status_code == 200

    # and the errors on the way are documented too
    assert hr.get("/v1/applications/app_missing").status_code == 404
    assert hr.post(f"/v1/requisitions/{req['id']}/close", json={"reason": "filled"}).status_code == 409
    assert hr.post("/v1/requisitions", json={"title": ""}).status_code == 422
    assert documented("wrong-key").get("/v1/requisitions").status_code == 401
    assert ida.get("/v1/talent-pool").status_code == 403
    assert len(documented.seen) >= 50, documented.seen
