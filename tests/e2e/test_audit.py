"""The audit log of personal-data reads (gateway/audit.py), on the session's platform:

- reads of a candidate, an application, a requisition's applications and the notices are each one record
  (who, which divisions, which route, which personal fields, the trace), and admin lists exactly those;
- reads that were refused (another division's key, a role that may not) record nothing;
- the talent pool and a requisition's matches record one read per candidate listed, in one stored document per
  request (`candidate_ids`);
- `GET /v1/audit` is admin-only and validates its query; the stored records hold ids, never a name, email
  or phone; and when a record cannot be written the read is refused with 503 (nothing unaudited leaves).
"""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from pymongo import MongoClient

from tests.e2e.test_hiring_loop import app_status, find_mail, interview_and_pass, portal_link
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

A, B = "audit-a", "audit-b"
CANDIDATE = {"name": "Audrey Auditson", "email": "audrey.auditson@example.net", "phone": "+33 6 12 34 56 78",
             "skills": ["painting"], "years_experience": 1}
POOLED = {"name": "Pavel Poolman", "email": "pavel.poolman@example.net", "phone": "+420 601 111 222",
          "skills": ["welding", "safety"], "years_experience": 6}
CANDIDATE_FIELDS = ["name", "email", "phone", "skills", "years_experience"]


def new_key(admin: httpx.Client, name: str, role: str, divisions: list[str]) -> tuple[str, str]:
    """(key id, key)."""
    r = admin.post("/v1/api-keys", json={"name": name, "role": role, "divisions": divisions})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def trace_of(response: httpx.Response) -> str:
    return response.headers["traceresponse"].split("-")[1]


def audit_records(admin: httpx.Client, candidate_id: str, limit: int = 500) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"candidate_id": candidate_id, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = admin.get("/v1/audit", params=params)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


class Waiter:
    """Polls through a key of its own and counts the answers that carried personal data: those are audited
    too, so the test knows exactly how many records they left."""

    def __init__(self, client: httpx.Client):
        self.client, self.reads = client, Counter()

    def get(self, path: str, route: str, **params):
        r = self.client.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        self.reads[route] += 1 if body else 0  # one candidate (one record) per answer; an empty list: none
        return body


@pytest.fixture(scope="module")
def screened_out(platform):
    """A candidate of division A screened out (so a rejection notice goes to them), read by nobody yet."""
    admin = platform.client()
    keys = {name: new_key(admin, name, role, divisions) for name, role, divisions in (
        ("audra", "hr", [A]), ("reid", "recruiter", [A]), ("wade", "hr", [A]), ("ines", "interviewer", [A]),
        ("bert", "hr", [B]), ("bree", "recruiter", [B]))}
    clients = {name: platform.client(key) for name, (_, key) in keys.items()}
    req = clients["audra"].post("/v1/requisitions", json={
        "title": "Welder", "division": A, "department": "yard", "tier": "basic", "required_skills": ["welding"]})
    assert req.status_code == 201, req.text
    applied = clients["reid"].post("/v1/applications", json={"requisition_id": req.json()["id"], "source": "web",
                                                             "candidate": CANDIDATE})
    assert applied.status_code == 202, applied.text
    app = applied.json()
    waiter = Waiter(clients["wade"])
    wait_for(lambda: waiter.get(f"/v1/applications/{app['id']}", "GET /v1/applications/{application_id}"),
             lambda a: a["status"] == "screened_out", what="screened out")
    wait_for(lambda: waiter.get(f"/v1/applications/{app['id']}/notifications",
                                "GET /v1/applications/{application_id}/notifications"),
             lambda notices: any(n["kind"] == "rejection" for n in notices), what="rejection notice")
    return {"keys": {name: key_id for name, (key_id, _) in keys.items()}, "clients": clients, "waiter": waiter,
            "requisition_id": req.json()["id"], "application_id": app["id"], "candidate_id": app["candidate_id"]}


def test_each_read_of_personal_data_is_one_record_and_refused_reads_none(platform, screened_out):
    s, c = screened_out, screened_out["clients"]
    cand, app_id, req_id = s["candidate_id"], s["application_id"], s["requisition_id"]
    admin = platform.client()

    # refused first: another division's keys (404) and a role that may not read (403) leave nothing
    for client, url in ((c["bert"], f"/v1/candidates/{cand}"), (c["bert"], f"/v1/applications/{app_id}"),
                        (c["bert"], f"/v1/requisitions/{req_id}/applications"),
                        (c["bree"], f"/v1/applications/{app_id}/notifications"),
                        (c["bree"], f"/v1/candidates/{cand}/notifications")):
        assert client.get(url).status_code == 404, url
    assert c["ines"].get(f"/v1/candidates/{cand}").status_code == 403

    reads = [  # (who, url, route template), in this order
        ("audra", f"/v1/candidates/{cand}", "GET /v1/candidates/{candidate_id}"),
        ("audra", f"/v1/applications/{app_id}", "GET /v1/applications/{application_id}"),
        ("audra", f"/v1/requisitions/{req_id}/applications", "GET /v1/requisitions/{requisition_id}/applications"),
        ("reid", f"/v1/applications/{app_id}/notifications", "GET /v1/applications/{application_id}/notifications"),
        ("reid", f"/v1/candidates/{cand}/notifications", "GET /v1/candidates/{candidate_id}/notifications"),
    ]
    traces = []
    for who, url, _ in reads:
        r = c[who].get(url)
        assert r.status_code == 200, r.text
        traces.append(trace_of(r))
    again = c["audra"].get(f"/v1/candidates/{cand}")  # a second read is a second record
    assert again.json()["name"] == CANDIDATE["name"]
    traces.append(trace_of(again))
    reads.append(reads[0])

    records = audit_records(admin, cand)
    assert all(r["candidate_id"] == cand for r in records)
    # the key of another division and the interviewer: nothing; the waiter: what it polled, and no more
    by_key = Counter(r["key_id"] for r in records)
    assert {k for k in by_key} <= {s["keys"]["audra"], s["keys"]["reid"], s["keys"]["wade"]}
    waited = Counter(r["action"] for r in records if r["key_id"] == s["keys"]["wade"])
    assert waited == s["waiter"].reads
    mine = [r for r in records if r["key_id"] != s["keys"]["wade"]]
    assert len(mine) == len(reads)
    # newest first: the reads in reverse order, each with who, divisions, what and its trace
    for record, (who, _, action), trace in zip(mine, reversed(reads), reversed(traces), strict=True):
        role = "hr" if who == "audra" else "recruiter"
        assert (record["key_id"], record["key_name"], record["role"], record["action"]) == (
            s["keys"][who], who, role, action)
        assert record["caller_divisions"] == [A] and record["division"] == A
        assert record["trace_id"] == trace
        assert record["at"].endswith("Z") and record["id"]
    fields = {r["action"]: r["fields"] for r in mine}
    assert fields["GET /v1/candidates/{candidate_id}"] == CANDIDATE_FIELDS
    assert fields["GET /v1/applications/{application_id}"] == ["candidate_name", "screening"]  # screened out
    assert fields["GET /v1/requisitions/{requisition_id}/applications"] == ["candidate_name", "screening"]
    for action in ("GET /v1/applications/{application_id}/notifications",
                   "GET /v1/candidates/{candidate_id}/notifications"):
        assert fields[action][0] == "recipient" and set(fields[action]) <= {"recipient", "subject", "body"}
    ids = [r["id"] for r in records]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)

    # pages: the same records, newest first, in pieces
    assert audit_records(admin, cand, limit=2) == records
    assert audit_records(admin, "cand_nobody") == []

    # an admin's read: group-wide, so the profile's division is not one division
    r = admin.get(f"/v1/candidates/{cand}")
    assert r.status_code == 200
    newest = admin.get("/v1/audit", params={"candidate_id": cand, "limit": 1}).json()["items"][0]
    assert (newest["role"], newest["caller_divisions"], newest["division"], newest["trace_id"]) == (
        "admin", ["*"], None, trace_of(r))


def test_talent_pool_and_matches_record_one_read_per_candidate(platform, screened_out):
    c, admin = screened_out["clients"], platform.client()
    hr, recruiter = c["audra"], c["reid"]
    _, ivo_key = new_key(admin, "ivo", "interviewer", [A])
    req = hr.post("/v1/requisitions", json={"title": "Senior Welder", "division": A, "department": "yard",
                                            "tier": "basic", "required_skills": ["welding"]}).json()
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral",
                                                   "talent_pool_consent": True, "candidate": POOLED}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview_and_pass(recruiter, hr, platform.client(ivo_key), "ivo", app["id"], 5, "strong_yes")
    token = portal_link(platform.mail_body(find_mail(platform, POOLED["email"], "offer")[0])).split("/portal/", 1)[1]
    assert platform.client("").post(f"/portal/{token}/response", json={"response": "decline"}).status_code == 200
    # the waiting goes through the admin key: its reads are told apart from the ones under test below
    wait_for(lambda: admin.get("/v1/talent-pool", params={"division": A}).json()["items"],
             lambda items: any(e["candidate_id"] == app["candidate_id"] for e in items), what="pooled")
    urgent = hr.post("/v1/requisitions", json={"title": "Night Welder", "division": A, "department": "yard",
                                               "tier": "basic", "urgent": True, "required_skills": ["welding"]}).json()
    wait_for(lambda: admin.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
             lambda m: isinstance(m, list) and any(x["candidate_id"] == app["candidate_id"] for x in m),
             what="matched")

    pool = recruiter.get("/v1/talent-pool", params={"division": A})
    matches = recruiter.get(f"/v1/requisitions/{urgent['id']}/matches")
    assert pool.status_code == 200 and matches.status_code == 200
    pooled_ids = [e["candidate_id"] for e in pool.json()["items"]]
    matched_ids = [m["candidate_id"] for m in matches.json()]
    assert app["candidate_id"] in pooled_ids and app["candidate_id"] in matched_ids
    reid = screened_out["keys"]["reid"]
    for candidate_id in set(pooled_ids) | set(matched_ids):
        records = [r for r in audit_records(admin, candidate_id) if r["key_id"] == reid
                   and r["action"] in ("GET /v1/talent-pool", "GET /v1/requisitions/{requisition_id}/matches")]
        expected = Counter({"GET /v1/talent-pool": pooled_ids.count(candidate_id),
                            "GET /v1/requisitions/{requisition_id}/matches": matched_ids.count(candidate_id)})
        assert Counter(r["action"] for r in records) == +expected, candidate_id
    mine = {r["action"]: r for r in audit_records(admin, app["candidate_id"]) if r["key_id"] == reid}
    pooled = mine["GET /v1/talent-pool"]
    assert pooled["fields"] == ["name", "skills", "prior"] and pooled["division"] == A
    assert pooled["trace_id"] == trace_of(pool)
    matched = mine["GET /v1/requisitions/{requisition_id}/matches"]
    assert matched["fields"][0] == "name" and "matched_skills" in matched["fields"] and matched["division"] == A
    assert matched["trace_id"] == trace_of(matches)
    # each request is one stored document naming every candidate it listed (one insert, not one per candidate)
    with MongoClient(platform.env["MONGO_URL"]) as mongo:
        audit = mongo[f"{platform.env['HIRELOOP_NAMESPACE']}_gateway"].audit
        [stored] = list(audit.find({"_id": matched["id"]}))
        assert stored["candidate_ids"] == matched_ids and len(stored["reads"]) == len(matched_ids)
        [stored] = list(audit.find({"_id": pooled["id"]}))
        assert stored["candidate_ids"] == pooled_ids


def test_the_audit_log_is_for_admin_only_and_validates_its_query(platform, screened_out):
    c, cand, admin = screened_out["clients"], screened_out["candidate_id"], platform.client()
    for name in ("audra", "reid", "ines"):
        r = c[name].get("/v1/audit", params={"candidate_id": cand})
        assert r.status_code == 403, (name, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert platform.client("nope").get("/v1/audit", params={"candidate_id": cand}).status_code == 401
    for params, field in (({}, "candidate_id"), ({"candidate_id": ""}, "candidate_id"),
                          ({"candidate_id": "c" * 101}, "candidate_id"),
                          ({"candidate_id": cand, "limit": 0}, "limit"),
                          ({"candidate_id": cand, "limit": 501}, "limit"),
                          ({"candidate_id": cand, "limit": "many"}, "limit"),
                          ({"candidate_id": cand, "cursor": "!!not-a-cursor"}, "cursor"),
                          ({"candidate_id": cand, "cursor": "x" * 201}, "cursor")):
        r = admin.get("/v1/audit", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["field"] == field, (params, r.text)


def test_audit_records_hold_ids_not_personal_data(platform, screened_out):
    with MongoClient(platform.env["MONGO_URL"]) as mongo:
        audit = mongo[f"{platform.env['HIRELOOP_NAMESPACE']}_gateway"].audit
        docs = list(audit.find({}))
        indexes = [list(ix["key"]) for ix in audit.list_indexes()]
    assert any(screened_out["candidate_id"] in d["candidate_ids"] for d in docs)
    stored = json.dumps(docs, default=str).lower()
    for needle in (CANDIDATE["name"], CANDIDATE["email"], CANDIDATE["phone"], "33612345678",
                   POOLED["name"], POOLED["email"], POOLED["phone"], "420601111222"):
        assert needle.lower() not in stored, needle
    assert ["candidate_ids", "_id"] in indexes


def test_a_read_that_cannot_be_audited_is_refused_with_503(platform, screened_out):
    """The audit collection is made to refuse every insert (a validator no record passes): the read is a
    503 with Retry-After and carries none of the candidate's data; once writes work again, so do reads."""
    hr, cand, admin = screened_out["clients"]["audra"], screened_out["candidate_id"], platform.client()
    before = len(audit_records(admin, cand))
    with MongoClient(platform.env["MONGO_URL"]) as mongo:
        db = mongo[f"{platform.env['HIRELOOP_NAMESPACE']}_gateway"]
        db.command("collMod", "audit", validator={"never_stored": {"$exists": True}}, validationAction="error")
        try:
            for url in (f"/v1/candidates/{cand}", f"/v1/applications/{screened_out['application_id']}",
                        f"/v1/candidates/{cand}/notifications"):
                r = hr.get(url)
                assert r.status_code == 503, (url, r.text)
                assert r.headers["Retry-After"] and r.json()["error"]["code"] == "service_unavailable"
                assert CANDIDATE["email"] not in r.text and CANDIDATE["name"] not in r.text
        finally:
            db.command("collMod", "audit", validator={})
    assert len(audit_records(admin, cand)) == before
    assert hr.get(f"/v1/candidates/{cand}").status_code == 200
    assert len(audit_records(admin, cand)) == before + 1
