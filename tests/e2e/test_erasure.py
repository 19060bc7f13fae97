"""A candidate's GDPR rights, end to end: the export of everything held (right of access), erasure in every
service with per-service progress (right to erasure), and retention that erases on its own."""

from __future__ import annotations

import io

import pytest
from kombu import Connection, Exchange
from reportlab.pdfgen import canvas

from shared.bus import topology
from shared.contracts.common import SERVICES
from tests.e2e.test_hiring_loop import app_status, find_mail, interview_and_pass, make_key, portal_link
from tests.support.dump import occurrences, platform_dump
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "erasure"
ERIN = {"name": "Erin Erasure", "email": "Erin.Erasure@example.com", "phone": "+33 1 23 45 67 89",
        "skills": ["forklift"], "years_experience": 4}
ERIN_TRACES = [ERIN["name"], ERIN["email"], ERIN["email"].lower(), ERIN["phone"], "33123456789"]
# A string found nowhere but in Erin's CV (a real PDF): its text is sealed at rest, so the dump never shows it;
# its GridFS file ids are what must be gone too.
CV_MARKER = "Qwertzuiop-CV-Marker-8841"


def a_cv() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i, line in enumerate([f"Erin Erasure {CV_MARKER}", "Forklift licence, warehouse management", "4 years"]):
        c.drawString(72, 720 - 16 * i, line)
    c.save()
    return buf.getvalue()


def gridfs_ids(dump: dict[str, str]) -> str:
    """The GridFS files and chunks of every database of the platform, as dumped."""
    return "\n".join(text for source, text in dump.items() if source.split(".", 1)[-1].startswith(("fs.files",
                                                                                                     "fs.chunks")))


RETO = {"name": "Reto Retention", "email": "reto.retention@example.com", "skills": ["sewing"], "years_experience": 1}
KEPT = {"name": "Kira Kept", "email": "kira.kept@example.com", "skills": ["forklift"], "years_experience": 2}


def dead_letter(platform, service: str, body: bytes) -> None:
    """Garbage about the candidate on a service's inbox: the service dead-letters it (never loses it)."""
    with Connection(platform.env["RABBIT_URL"], transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(body, exchange=Exchange(""), routing_key=topology.inbox_queue(service),
                                content_type="application/octet-stream", content_encoding="binary")


def timing(hr) -> list:
    return hr.get("/v1/reports/notification-timing", params={"division": DIVISION, "from": "2020-01-01"}).json()[
        "groups"]


def test_export_then_erasure_leaves_no_trace_of_the_candidate_in_any_store(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "edda", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "ezra", "recruiter", [DIVISION]))
    ivy = platform.client(make_key(admin, "ivy", "interviewer", [DIVISION]))
    req = hr.post("/v1/requisitions", json={"title": "Forklift driver", "division": DIVISION,
                                            "department": "warehouse", "tier": "basic",
                                            "required_skills": ["forklift"]}).json()
    app = recruiter.post("/v1/applications", headers={"Idempotency-Key": "erin-1"}, json={
        "requisition_id": req["id"], "source": "referral", "talent_pool_consent": True, "candidate": ERIN}).json()
    cid = app["candidate_id"]
    cv = a_cv()
    attached = recruiter.post(f"/v1/applications/{app['id']}/documents", data={"kind": "cv"},
                              files={"file": ("Erin Erasure CV.pdf", cv, "application/pdf")})
    assert attached.status_code == 201, attached.text
    doc_id = attached.json()["id"]
    read = wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}/documents").json()["items"],
                    lambda items: items and items[0]["text_status"] != "pending", what="the CV read")
    assert read[0]["text_status"] == "extracted" and CV_MARKER in read[0]["text"]
    assert "Forklift" in read[0]["skills_found"]
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    assert ivy.get(f"/v1/documents/{doc_id}").status_code == 404  # not on the panel yet
    interview_and_pass(recruiter, hr, ivy, "ivy", app["id"], 5, "strong_yes", "2026-12-05T09:00:00Z")
    download = ivy.get(f"/v1/documents/{doc_id}")  # on the panel now: the CV, as it was sent
    assert download.status_code == 200 and download.content == cv
    assert download.headers["content-type"] == "application/pdf"
    token = portal_link(platform.mail_body(find_mail(platform, ERIN["email"], "offer")[0])).split("/portal/", 1)[1]
    assert platform.client().post(f"/portal/{token}/response", json={"response": "decline"}).status_code == 200
    wait_for(lambda: recruiter.get("/v1/talent-pool", params={"division": DIVISION}).json()["items"],
             lambda items: any(e["candidate_id"] == cid for e in items), what="pooled")
    # Messages about the candidate that no service could handle: every service has one in its dead letters.
    for service in SERVICES:
        dead_letter(platform, service, f"not an event: {cid} {app['id']} {ERIN['email']}".encode())
    dead_letter(platform, "sourcing", f"a broken command for {ERIN['email']}".encode())

    # Right of access: one document with what every service holds.
    assert hr.get(f"/v1/candidates/{cid}/export").status_code == 403
    export = admin.get(f"/v1/candidates/{cid}/export")
    assert export.status_code == 200, export.text
    doc = export.json()
    assert doc["candidate_id"] == cid and set(doc["services"]) == set(SERVICES)
    held = doc["services"]
    assert (held["sourcing"]["candidate"]["email"], held["sourcing"]["candidate"]["phone"]) == (ERIN["email"],
                                                                                                ERIN["phone"])
    assert [a["id"] for a in held["sourcing"]["applications"]] == [app["id"]]
    assert held["screening"]["results"][0]["application_id"] == app["id"]
    assert held["interview_feedback"]["interviews"][0]["scorecards"][0]["interviewer"] == "ivy"
    assert held["interview_feedback"]["decisions"][0]["outcome"] == "pass"
    assert any(n["kind"] == "offer" and n["recipient"] == ERIN["email"] for n in held["notification"]["notices"])
    assert held["talent_pool"]["pool_entry"]["candidate_id"] == cid
    [exported_cv] = held["sourcing"]["documents"]
    assert exported_cv["id"] == doc_id and CV_MARKER in exported_cv["text"] and "data" not in exported_cv
    audited = admin.get("/v1/audit", params={"candidate_id": cid}).json()["items"]
    assert audited[0]["action"] == "GET /v1/candidates/{candidate_id}/export" and "export" in audited[0]["fields"]

    def dead_letters_in(dump):
        return [source for source, _ in occurrences(dump, [cid, ERIN["email"]]) if source.startswith("dlq:")]

    wait_for(lambda: dead_letters_in(platform_dump(platform.env)), lambda found: len(set(found)) == len(SERVICES),
             what="a dead letter about the candidate in every service's queue")
    before = platform_dump(platform.env)
    assert occurrences(before, [ERIN["name"]]) != []  # the scan does find the candidate while held
    assert doc_id in gridfs_ids(before)  # the CV is in GridFS, its file and chunks ...
    assert occurrences(before, [CV_MARKER]) == []  # ... sealed: its text is in clear nowhere, chunks included
    assert any(s.startswith("redis:") for s, _ in occurrences(before, [cid]))  # the idempotent answer
    report = timing(hr)

    # Right to erasure: admin only; the answer is the erasure, progress per service until complete.
    assert hr.delete(f"/v1/candidates/{cid}").status_code == 403
    started = admin.delete(f"/v1/candidates/{cid}")
    assert started.status_code == 202, started.text
    erasure = started.json()
    assert erasure["candidate_id"] == cid and erasure["application_ids"] == [app["id"]]
    assert erasure["services"]["sourcing"]["status"] == "done" and erasure["services"]["gateway"]["status"] == "done"
    assert erasure["services"]["gateway"]["counts"]["idempotency_records"] == 1
    done = wait_for(lambda: admin.get(f"/v1/erasures/{erasure['id']}").json(),
                    lambda e: e["status"] == "completed", what="erasure completed")
    assert set(done["services"]) == {*SERVICES, "gateway"}
    assert all(step["status"] == "done" for step in done["services"].values())
    assert all(done["services"][s]["counts"]["dead_letters"] == 1 for s in SERVICES if s != "sourcing")
    assert done["services"]["sourcing"]["counts"]["dead_letters"] == 2
    assert done["services"]["notification"]["counts"]["notices"] >= 1
    assert done["services"]["talent_pool"]["counts"]["pool_entries"] == 1
    assert admin.delete(f"/v1/candidates/{cid}").json()["id"] == erasure["id"]  # asked again: the same erasure

    # No trace left in any database, outbox, inbox, Redis or dead-letter queue ...
    after = platform_dump(platform.env)
    assert occurrences(after, [*ERIN_TRACES, CV_MARKER]) == []
    # The CV's GridFS file and chunks and its metadata are gone (an id alone is no personal data elsewhere).
    assert doc_id not in gridfs_ids(after)
    assert not [source for source, _ in occurrences(after, [doc_id]) if source.endswith("_sourcing.documents")]
    assert done["services"]["sourcing"]["counts"]["files"] == 1
    assert done["services"]["sourcing"]["counts"]["documents"] == 1
    assert admin.get(f"/v1/documents/{doc_id}").status_code == 404
    # ... the candidate is gone for every reader, but the figures stay.
    assert admin.get(f"/v1/candidates/{cid}").status_code == 404
    assert admin.get(f"/v1/candidates/{cid}/export").status_code == 404
    kept = admin.get(f"/v1/applications/{app['id']}").json()
    assert kept["status"] == "declined" and kept["source"] == "referral"
    assert [e["status"] for e in kept["timeline"]][-1] == "declined"
    assert timing(hr) == report
    assert all(e["candidate_id"] != cid for e in recruiter.get("/v1/talent-pool", params={"division": DIVISION})
               .json()["items"])
    assert admin.get("/v1/erasures/era_nope").status_code == 404
    # The same person applying again is a new candidate (the old look-up key is gone).
    again = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "web",
                                                     "candidate": {**ERIN, "name": "Erin Again"}})
    assert again.status_code == 202 and again.json()["candidate_id"] != cid


def test_retention_erases_rejected_candidates_of_a_division_once_their_period_is_over(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "rhea-r", "hr", ["retention"]))
    default = hr.get("/v1/retention-policies/retention").json()
    assert default == {"division": "retention", "rejected_days": 180, "pool_days": 365}
    assert hr.put("/v1/retention-policies/retention", json={"rejected_days": 0, "pool_days": 0}).status_code == 403
    bad = admin.put("/v1/retention-policies/retention", json={"rejected_days": -1, "pool_days": 30})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "rejected_days"
    assert hr.get("/v1/retention-policies/retention").json() == default  # refused input changed nothing
    req = hr.post("/v1/requisitions", json={"title": "Driver", "division": "retention", "department": "fleet",
                                            "tier": "basic", "required_skills": ["forklift"]}).json()
    rejected = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web",
                                                 "candidate": RETO}).json()
    kept = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": KEPT}).json()
    wait_for(lambda: app_status(hr, rejected["id"]), lambda a: a["status"] == "screened_out", what="screened out")
    wait_for(lambda: app_status(hr, kept["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    assert hr.get(f"/v1/candidates/{rejected['candidate_id']}").status_code == 200  # 180 days: kept for now

    policy = admin.put("/v1/retention-policies/retention", json={"rejected_days": 0, "pool_days": 30})
    assert policy.json() == {"division": "retention", "rejected_days": 0, "pool_days": 30}
    # The sweep (every 2 s on the test platform) erases the screened-out candidate, not the one in process.
    wait_for(lambda: hr.get(f"/v1/candidates/{rejected['candidate_id']}").status_code, lambda code: code == 404,
             timeout=60, what="erased by retention")
    assert hr.get(f"/v1/candidates/{kept['candidate_id']}").json()["name"] == KEPT["name"]
    assert app_status(hr, rejected["id"])["status"] == "screened_out"  # the figures stay
    wait_for(lambda: occurrences(platform_dump(platform.env), [RETO["name"], RETO["email"]]),
             lambda found: found == [], what="no trace of the expired candidate")
