"""Candidates' control over their data, through the portal: withdrawing talent-pool consent takes them out of
the pool and out of every pending re-engagement at once."""

from __future__ import annotations

import pytest

from tests.e2e.test_hiring_loop import app_status, find_mail, interview_and_pass, make_key, portal_link
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "consent"


def test_withdrawing_consent_on_the_portal_removes_the_candidate_from_pool_and_pending_reengagements(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "cora", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "cole", "recruiter", [DIVISION]))
    ike = platform.client(make_key(admin, "ike", "interviewer", [DIVISION]))
    req = hr.post("/v1/requisitions", json={"title": "Baker", "division": DIVISION, "department": "bakery",
                                            "tier": "basic", "required_skills": ["sourdough"]}).json()
    email = "dana.consent@example.com"
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "web",
                                                   "talent_pool_consent": True, "candidate": {
                                                       "name": "Dana", "email": email, "skills": ["sourdough"],
                                                       "years_experience": 2}}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview_and_pass(recruiter, hr, ike, "ike", app["id"], 5, "strong_yes", "2026-12-03T09:00:00Z")
    a_token = portal_link(platform.mail_body(find_mail(platform, email, "offer")[0])).split("/portal/", 1)[1]
    assert platform.client().post(f"/portal/{a_token}/response", json={"response": "decline"}).status_code == 200

    def pooled():
        items = recruiter.get("/v1/talent-pool", params={"division": DIVISION}).json()["items"]
        return [e for e in items if e["candidate_id"] == app["candidate_id"]]

    wait_for(pooled, lambda found: len(found) == 1, what="pooled")
    # Fields by role: an interviewer gets neither the candidate's profile nor their contact details; another
    # division sees the pool entry (the pool is group-wide) without contact details, until a re-engagement
    # is accepted and the candidate applies there.
    assert ike.get(f"/v1/candidates/{app['candidate_id']}").status_code == 403
    assert ike.get(f"/v1/applications/{app['id']}").status_code == 403
    assert ike.get(f"/v1/requisitions/{req['id']}/applications").status_code == 403
    elsewhere = platform.client(make_key(admin, "olga", "recruiter", ["consent-other"]))
    seen = elsewhere.get("/v1/talent-pool", params={"division": DIVISION})
    entry = next(e for e in seen.json()["items"] if e["candidate_id"] == app["candidate_id"])
    assert "email" not in entry and "phone" not in entry and email not in seen.text
    assert elsewhere.get(f"/v1/candidates/{app['candidate_id']}").status_code == 404
    urgent = hr.post("/v1/requisitions", json={
        "title": "Night Baker", "division": DIVISION, "department": "bakery", "tier": "basic", "urgent": True,
        "required_skills": ["sourdough"]}).json()
    wait_for(lambda: recruiter.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
             lambda m: isinstance(m, list) and any(x["candidate_id"] == app["candidate_id"] for x in m),
             what="matched")
    assert recruiter.post(f"/v1/requisitions/{urgent['id']}/matches/{app['candidate_id']}/reengage").status_code == 202
    r_token = portal_link(platform.mail_body(find_mail(platform, email, "Night Baker")[0])).split("/portal/", 1)[1]
    page = platform.client().get(f"/portal/{a_token}", headers={"Accept": "application/json"}).json()
    assert page["talent_pool"] == {"in_pool": True, "withdrawn": False}
    assert "Remove me from the talent pool" in platform.client().get(f"/portal/{a_token}").text

    bad = platform.client().post(f"/portal/{a_token}/consent", json={"talent_pool": True})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "talent_pool"
    assert pooled() != []  # refused input changed nothing
    done = platform.client().post(f"/portal/{a_token}/consent", json={"talent_pool": False})
    assert done.status_code == 200, done.text
    assert done.json() == {"talent_pool_consent": False, "removed_from_pool": True, "reengagements_withdrawn": 1}

    # at once: out of the pool, out of the match list, the pending re-engagement can no longer be accepted
    assert pooled() == []
    matches = recruiter.get(f"/v1/requisitions/{urgent['id']}/matches").json()
    assert all(m["candidate_id"] != app["candidate_id"] for m in matches)
    offer = platform.client().get(f"/portal/{r_token}", headers={"Accept": "application/json"}).json()
    assert offer["status"] == "withdrawn" and offer["can_respond"] is False
    late = platform.client().post(f"/portal/{r_token}/response", json={"response": "accept"})
    assert late.status_code == 409
    page = platform.client().get(f"/portal/{a_token}", headers={"Accept": "application/json"}).json()
    assert page["talent_pool"] == {"in_pool": False, "withdrawn": True}
    again = platform.client().post(f"/portal/{a_token}/consent", json={"talent_pool": False})
    assert again.status_code == 200 and again.json()["removed_from_pool"] is False

    # a later urgent role does not surface them either
    later = hr.post("/v1/requisitions", json={"title": "Head Baker", "division": DIVISION, "department": "bakery",
                                              "tier": "basic", "urgent": True, "required_skills": ["sourdough"]}).json()
    # (its matches are computed once talent_pool has heard of it: wait for a list, empty or not)
    later_matches = wait_for(lambda: recruiter.get(f"/v1/requisitions/{later['id']}/matches").json(),
                             lambda m: isinstance(m, list), what="matches of the later requisition")
    assert all(m["candidate_id"] != app["candidate_id"] for m in later_matches)
