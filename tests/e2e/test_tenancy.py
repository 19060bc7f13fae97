"""One division never sees or touches another's data.

- Every endpoint of the OpenAPI document that takes an id is tried with keys of another division (hr,
  recruiter, interviewer), with a valid body where it takes one: each answers 404 (the object does not
  exist for them) or 403 (their role may not do this at all), and nothing changed. A route added later
  without a case here fails the test, so the matrix keeps up with the API.
- Services enforce the scope themselves: RPCs published straight to the broker, without the gateway,
  with no caller context, a forged one or a tampered one, are refused.
"""

from __future__ import annotations

import asyncio

import pytest

from shared.bus.aio_rpc import AsyncRpcClient
from shared.config import Settings
from shared.context import CALLER_CONTEXT_KEY, sign_caller
from shared.contracts.caller import Caller
from shared.errors import NotFound, Unauthenticated
from tests.e2e.test_hiring_loop import app_status, interview_and_pass, make_key
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

A, B = "tenant-a", "tenant-b"
# A valid body for every route with path parameters that takes one (validation must not answer first).
BODIES = {
    ("POST", "/v1/requisitions/{requisition_id}/close"): {"reason": "cancelled"},
    ("POST", "/v1/applications/{application_id}/screening/override"): {"passed": False, "reason": "fit"},
    ("POST", "/v1/applications/{application_id}/interviews"): {
        "interviewers": ["bea"], "scheduled_at": "2026-12-01T09:00:00Z", "competencies": ["craft"]},
    ("POST", "/v1/interviews/{interview_id}/scorecards"): {
        "interviewer": "bea", "ratings": {"craft": 1}, "recommendation": "strong_no"},
    ("POST", "/v1/applications/{application_id}/decision"): {"outcome": "fail"},
    ("POST", "/v1/approvals/{approval_id}"): {"decision": "reject"},
    ("POST", "/v1/applications/{application_id}/confirmation"): {"result": "unreachable"},
    ("POST", "/v1/applications/{application_id}/outcome"): {"outcome": "withdrawn"},
    ("PUT", "/v1/notification-policies/{division}"): {"rejection_delay": 1},
    ("PUT", "/v1/retention-policies/{division}"): {"rejected_days": 0, "pool_days": 0},
    ("POST", "/v1/requisitions/{requisition_id}/matches/{candidate_id}/reengage"): None,
    ("DELETE", "/v1/api-keys/{key_id}"): None,
    ("PATCH", "/v1/requisitions/{requisition_id}"): {"title": "Taken over"},
    ("PATCH", "/v1/divisions/{division_id}"): {"name": "Taken over"},
    ("POST", "/v1/users/{user_id}/invitation"): None,
    ("POST", "/v1/applications/{application_id}/notes"): {"body": "Taken over by @someone"},
    # (the interviews and offers issue's routes)
    ("PATCH", "/v1/interviews/{interview_id}"): {"duration_minutes": 45},
    ("POST", "/v1/interviews/{interview_id}/cancel"): {"reason": "taken over"},
    ("POST", "/v1/interviews/{interview_id}/attendance"): {"candidate": "no_show"},
    ("PUT", "/v1/requisitions/{requisition_id}/kit"): {"competencies": {"ledger": {"questions": ["Taken over?"]}}},
    ("POST", "/v1/applications/{application_id}/offer"): {
        "salary": {"amount": 1, "currency": "EUR", "period": "year"}, "start_date_options": ["2030-01-15"],
        "expires_at": "2029-12-31T00:00:00Z"},
}
# Routes that take a file (multipart), with a valid one.
FILES = {("POST", "/v1/applications/{application_id}/documents"): {
    "data": {"kind": "other"}, "files": {"file": ("note.txt", b"A note from division B", "text/plain")}}}
# Routes whose parameter is not a division's object: the portal's credential is the token itself.
NOT_DIVISION_SCOPED = {"/portal/{token}", "/portal/{token}/response", "/portal/{token}/survey",
                       "/portal/{token}/slot", "/portal/{token}/other-times", "/portal/{token}/offer-letter",
                       "/portal/{token}/consent", "/portal/{token}/leave", "/careers/community/confirm/{token}",
                       # public by design, published jobs only (tests/e2e/test_careers.py: 404 for any other)
                       "/v1/public/jobs/{requisition_id}/applications"}


@pytest.fixture(scope="module")
def tenant_a(platform):
    """Objects of division A: a core requisition with an application awaiting approval, an interview with
    a scorecard, a candidate, an approval step, a key, an urgent requisition."""
    admin = platform.client()
    hr = platform.client(make_key(admin, "hal", "hr", [A]))
    recruiter = platform.client(make_key(admin, "rob", "recruiter", [A]))
    ann = platform.client(make_key(admin, "ann", "interviewer", [A]))
    # (ids are time-ordered and the session makes many keys, the fuzzer too: one long page, not the first 50)
    key_id = next(k["id"] for k in admin.get("/v1/api-keys", params={"limit": 500}).json()["items"]
                  if k["name"] == "rob")
    req = hr.post("/v1/requisitions", json={"title": "Controller", "division": A, "department": "finance",
                                            "tier": "core", "required_skills": ["ledger"]}).json()
    urgent = hr.post("/v1/requisitions", json={"title": "Night Clerk", "division": A, "department": "finance",
                                               "tier": "basic", "urgent": True, "required_skills": ["ledger"]}).json()
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral", "candidate": {
        "name": "Tenant A Person", "email": "person.a@example.org", "skills": ["ledger"], "years_experience": 5}}
    ).json()
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview = interview_and_pass(recruiter, hr, ann, "ann", app["id"], 4, "yes")
    approvals = wait_for(lambda: hr.get(f"/v1/applications/{app['id']}/approvals").json(),
                         lambda a: isinstance(a, list) and len(a) == 2, what="approvals")
    document = recruiter.post(f"/v1/applications/{app['id']}/documents", data={"kind": "cv"},
                              files={"file": ("cv.txt", b"Tenant A Person\nledger, 5 years", "text/plain")})
    assert document.status_code == 201, document.text
    wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}/documents").json()["items"],
             lambda items: items[0]["text_status"] != "pending", what="the document read")
    # a user of division A (issue 20): users name registered divisions only
    registered = admin.post("/v1/divisions", json={"id": A, "name": "Tenant A"})
    assert registered.status_code in (201, 409), registered.text
    user = admin.post("/v1/users", json={"email": "user.a@example.org", "name": "Tenant A User",
                                         "role": "recruiter", "divisions": [A]})
    assert user.status_code == 201, user.text
    return {
        "ids": {"requisition_id": req["id"], "application_id": app["id"], "candidate_id": app["candidate_id"],
                "interview_id": interview["id"], "approval_id": approvals[0]["id"], "key_id": key_id,
                "division": A, "division_id": A, "document_id": document.json()["id"],
                "erasure_id": "era_of_tenant_a",  # erasures are admin-only: refused by role
                "user_id": user.json()["id"]},
        "urgent_requisition_id": urgent["id"],
        "hr": hr,
    }


def snapshot(tenant) -> dict:
    hr, ids = tenant["hr"], tenant["ids"]
    return {
        "requisition": hr.get(f"/v1/requisitions/{ids['requisition_id']}").json(),
        "documents": hr.get(f"/v1/applications/{ids['application_id']}/documents").json(),
        "division": hr.get(f"/v1/divisions/{A}").json(),
        "application": hr.get(f"/v1/applications/{ids['application_id']}").json(),
        "interview": hr.get(f"/v1/interviews/{ids['interview_id']}").json(),
        "approvals": hr.get(f"/v1/applications/{ids['application_id']}/approvals").json(),
        "notices": hr.get(f"/v1/applications/{ids['application_id']}/notifications").json(),
        "policy": hr.get(f"/v1/notification-policies/{A}").json(),
        "retention": hr.get(f"/v1/retention-policies/{A}").json(),
        "candidate": hr.get(f"/v1/candidates/{ids['candidate_id']}").json(),
        "user": hr.get(f"/v1/users/{ids['user_id']}").json(),
    }


def test_every_endpoint_with_an_id_refuses_another_divisions_keys(platform, tenant_a):
    admin = platform.client()
    others = {role: platform.client(make_key(admin, f"b-{role}", role, [B]))
              for role in ("hr", "recruiter", "interviewer")}
    before = snapshot(tenant_a)
    spec = platform.client().get("/openapi.json").json()
    tried, leaks = [], []
    for path, operations in spec["paths"].items():
        if "{" not in path or path in NOT_DIVISION_SCOPED:
            continue
        for method in operations:
            method = method.upper()
            params = [p["name"] for p in operations[method.lower()].get("parameters", []) if p["in"] == "path"]
            assert params, (method, path)
            url = path
            for name in params:
                assert name in tenant_a["ids"], f"no object of division A for {{{name}}} in {method} {path}"
                url = url.replace("{" + name + "}", tenant_a["ids"][name])
            body = BODIES.get((method, path))
            upload = FILES.get((method, path))
            if method in ("POST", "PUT", "PATCH") and (method, path) not in BODIES and not upload:
                pytest.fail(f"{method} {path} takes a body: add a valid one to BODIES")
            for role, client in others.items():
                if upload:
                    r = client.request(method, url, **upload)
                else:
                    r = client.request(method, url, json=body) if body is not None else client.request(method, url)
                tried.append((method, path, role, r.status_code))
                if r.status_code not in (403, 404):
                    leaks.append((method, path, role, r.status_code, r.text[:200]))
                elif r.status_code == 404:
                    assert r.json()["error"]["code"].endswith("not_found"), (method, path, r.text)
    assert leaks == []
    assert len(tried) >= 3 * 31  # 31 operations take an id today
    # a division-scoped key that may read an object gets 404, as if it did not exist (not 403)
    hr_b = others["hr"]
    for url in (f"/v1/applications/{tenant_a['ids']['application_id']}",
                f"/v1/requisitions/{tenant_a['ids']['requisition_id']}",
                f"/v1/candidates/{tenant_a['ids']['candidate_id']}",
                f"/v1/interviews/{tenant_a['ids']['interview_id']}",
                f"/v1/requisitions/{tenant_a['urgent_requisition_id']}/matches"):
        assert hr_b.get(url).status_code == 404, url
    assert snapshot(tenant_a) == before  # nothing changed


def test_lists_of_another_division_are_empty_not_leaked(platform, tenant_a):
    admin = platform.client()
    hr_b = platform.client(make_key(admin, "b-lister", "hr", [B]))
    ids = tenant_a["ids"]
    listed = hr_b.get("/v1/requisitions", params={"limit": 500}).json()["items"]
    assert all(r["division"] != A for r in listed)
    asked = hr_b.get("/v1/requisitions", params={"division": A})
    assert asked.status_code in (403, 404) or asked.json()["items"] == []
    assert hr_b.get(f"/v1/applications/{ids['application_id']}/notifications").status_code in (403, 404)
    assert hr_b.get("/v1/reports/notification-timing").json()["groups"] == []  # B has no figures; A's stay A's
    assert hr_b.get("/v1/reports/notification-timing", params={"division": A}).status_code == 404



def test_search_finds_only_the_callers_divisions(platform, tenant_a):
    """GET /v1/candidates?q= and GET /v1/applications?q= (issue 20): division A's candidate by email, name prefix,
    skill and phone for A's keys; nothing of A for B's keys, however they ask (a filter naming A's requisition
    included); admin sees both."""
    admin = platform.client()
    hr_b = platform.client(make_key(admin, "b-searcher", "hr", [B]))
    rec_b = platform.client(make_key(admin, "b-search-rec", "recruiter", [B]))
    hr_a, ids = tenant_a["hr"], tenant_a["ids"]
    terms = ("person.a@example.org", "PERSON.A@example.org ", "tenant a", "Tenant A Pers", "ledger")
    for q in terms:
        hits = hr_a.get("/v1/candidates", params={"q": q})
        assert hits.status_code == 200, hits.text
        assert [(h["id"], h["division"]) for h in hits.json()["items"]] == [(ids["candidate_id"], A)], q
        found = hr_a.get("/v1/applications", params={"q": q}).json()["items"]
        assert ids["application_id"] in [a["id"] for a in found], q
        for client in (hr_b, rec_b):
            assert client.get("/v1/candidates", params={"q": q}).json()["items"] == [], q
            assert client.get("/v1/applications", params={"q": q}).json()["items"] == [], q
    assert hr_b.get("/v1/applications", params={"requisition_id": ids["requisition_id"]}).json()["items"] == []
    assert all(a["division"] == B for a in hr_b.get("/v1/applications", params={"limit": 500}).json()["items"])
    assert ids["candidate_id"] in [h["id"] for h in admin.get("/v1/candidates", params={"q": "ledger"}).json()["items"]]
    # an interviewer searches no one; a typo of a division is no division
    assert platform.client(make_key(admin, "b-search-int", "interviewer", [B])).get(
        "/v1/candidates", params={"q": "tenant"}).status_code == 403
    typo = hr_a.post("/v1/requisitions", json={"title": "Clerk", "division": "tenant-aa", "department": "finance",
                                               "tier": "basic", "required_skills": ["ledger"]})
    assert typo.status_code == 422 and typo.json()["error"]["field"] == "division"


def test_services_refuse_rpcs_without_a_valid_caller_context(platform, tenant_a):
    """Straight to the broker, bypassing the gateway: no context, a context signed with a guessed secret,
    a valid signature over other claims (tampered), and a genuine one of the wrong division."""
    application_id = tenant_a["ids"]["application_id"]
    secret = Settings.from_env(platform.env).context_secret  # the platform's own (its default when unset)
    wrong_division = Caller(key_id="k", name="mallory", role="hr", divisions=(B,))
    everything = Caller(key_id="k", name="mallory", role="admin", divisions=("*",))

    def contexts(service, method, kwargs):
        """Each signed for this very call, so only the claims (or the key) are wrong."""
        genuine = sign_caller(wrong_division, service, method, kwargs, secret=secret)
        forged = sign_caller(everything, service, method, kwargs, secret="a-guessed-secret")
        mac = genuine.rsplit(".", 1)[1]
        tampered = sign_caller(everything, service, method, kwargs, secret="x").rsplit(".", 1)[0] + "." + mac
        return (("none", {}), ("forged", {CALLER_CONTEXT_KEY: forged}), ("tampered", {CALLER_CONTEXT_KEY: tampered}),
                ("other division", {CALLER_CONTEXT_KEY: genuine}))

    async def attempts():
        client = AsyncRpcClient(platform.env["RABBIT_URL"], name="intruder", timeout=8)
        await client.connect()
        outcomes = {}
        try:
            for service, method, kwargs in (
                    ("sourcing", "get_application", {"application_id": application_id}),
                    ("notification", "list_for_application", {"application_id": application_id}),
                    ("interview_feedback", "list_approvals", {"application_id": application_id})):
                for label, context in contexts(service, method, kwargs):
                    try:
                        await client.call(service, method, context=context, **kwargs)
                        outcomes[(label, service)] = "answered"
                    except Exception as exc:  # noqa: BLE001 - the kind of refusal is the result
                        outcomes[(label, service)] = type(exc).__name__
        finally:
            await client.close()
        return outcomes

    outcomes = asyncio.run(attempts())
    for (label, service), outcome in outcomes.items():
        if label == "other division":
            assert outcome == NotFound.__name__, (label, service, outcome)
        else:
            assert outcome == Unauthenticated.__name__, (label, service, outcome)
    assert len(outcomes) == 12
