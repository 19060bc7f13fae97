"""The whole hiring loop, driven only through the gateway's HTTP API, with mail read from the SMTP capture:

requisition → application (de-duplicated candidate) → screening with reasons → interview with two
scorecards → aggregate and discrepancy → HR decision → offer email with evidence → candidate declines on
the portal → talent pool → urgent requisition re-surfaces them → re-engagement email → candidate accepts →
fast-tracked application that starts at `interviewed`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def make_key(admin, name, role, divisions, email=None):
    r = admin.post("/v1/api-keys", json={"name": name, "role": role, "divisions": divisions,
                                         **({"email": email} if email else {})})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["key"] and body["role"] == role and body["divisions"] == sorted(divisions)
    return body["key"]


def app_status(client, app_id):
    return client.get(f"/v1/applications/{app_id}").json()


def portal_link(text: str) -> str:
    match = re.search(r"https?://\S+/portal/[A-Za-z0-9_\-.]+", text)
    assert match, f"no portal link in: {text}"
    return match.group(0)


def interview_and_pass(recruiter, hr, interviewer, name: str, app_id: str, rating: int, recommendation: str,
                       scheduled_at: str = "2026-12-01T09:00:00Z") -> dict:
    """A shortlisted application through a one-person interview to HR's pass decision; returns the interview."""
    # allow_clash: callers reuse one interviewer at one time across applications
    interview = recruiter.post(f"/v1/applications/{app_id}/interviews", json={
        "interviewers": [name], "scheduled_at": scheduled_at, "competencies": ["craft"], "allow_clash": True}).json()
    assert interviewer.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": name, "ratings": {"craft": rating}, "recommendation": recommendation}).status_code == 201
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "interviewed", what="interviewed")
    assert hr.post(f"/v1/applications/{app_id}/decision", json={"outcome": "pass"}).status_code == 200
    return interview


def find_mail(platform, to: str, subject_contains: str):
    def fetch():
        return [m for m in platform.mail()
                if to.lower() in [t.lower() for t in m["to"]] and subject_contains.lower() in m["subject"].lower()]
    return wait_for(fetch, lambda found: len(found) > 0, timeout=20, what=f"mail '{subject_contains}' to {to}")


def test_the_whole_hiring_loop(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "hana", "hr", ["retail"]))
    recruiter = platform.client(make_key(admin, "rui", "recruiter", ["retail"]))
    ana = platform.client(make_key(admin, "ana", "interviewer", ["retail"], email="ana@example.com"))
    bo = platform.client(make_key(admin, "bo", "interviewer", ["retail"], email="bo@example.com"))
    other_hr = platform.client(make_key(admin, "olga", "hr", ["logistics"]))

    # --- requisition
    r = hr.post("/v1/requisitions", json={
        "title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
        "required_skills": ["Coffee", "Customer Service"], "skills": ["Latte Art"], "min_years": 1,
        "location": "Shanghai"})
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "open" and req["tier"] == "basic" and req["urgent"] is False and req["created_at"]

    # --- application, de-duplicated candidate
    candidate = {"name": "Lin Wei", "email": "Lin.Wei@Example.com", "phone": "+86 138 0000 0000",
                 "skills": ["coffee", "customer service", "latte art"], "years_experience": 3, "location": "Shanghai"}
    r = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral",
                                                 "candidate": candidate, "talent_pool_consent": True},
                       headers={"Idempotency-Key": "apply-lin-1"})
    assert r.status_code == 202, r.text
    app = r.json()
    assert app["status"] == "received" and app["candidate_id"]
    replay = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral",
                                                      "candidate": candidate, "talent_pool_consent": True},
                            headers={"Idempotency-Key": "apply-lin-1"})
    assert replay.status_code == 202 and replay.json() == app
    dup = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "job_board",
                                                   "candidate": {**candidate, "email": "  lin.wei@example.COM "}})
    assert dup.status_code == 409, dup.text
    assert app["id"] in dup.json()["error"]["message"]

    weak = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "job_board", "candidate": {
        "name": "Sam", "email": "sam@example.com", "skills": ["coffee"], "years_experience": 0.5}}).json()

    # --- screening, automatic, with readable reasons
    shortlisted = wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted",
                           what="shortlisted")
    s = shortlisted["screening"]
    assert s["passed"] is True and s["match"] == 100 and 0 < s["score"] <= 100
    assert s["reasons"] and all(isinstance(x, str) for x in s["reasons"])
    out = wait_for(lambda: app_status(recruiter, weak["id"]), lambda a: a["status"] == "screened_out",
                   what="screened_out")
    assert any("Customer Service" in reason for reason in out["screening"]["reasons"])
    assert "Customer Service" in out["screening"]["missing_skills"]

    # --- a division sees only its own data
    assert other_hr.get(f"/v1/applications/{app['id']}").status_code == 404
    assert other_hr.get(f"/v1/requisitions/{req['id']}").status_code == 404
    assert other_hr.get(f"/v1/candidates/{app['candidate_id']}").status_code == 404
    assert recruiter.post("/v1/requisitions", json={}).status_code == 403

    # --- interview with two interviewers
    r = recruiter.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["ana", "bo"], "starts_at": "2026-12-01T09:00:00Z", "duration_minutes": 45,
        "timezone": "Asia/Shanghai", "format": "onsite", "location": "Flagship store",
        "competencies": ["craft", "service"]})
    assert r.status_code == 201, r.text
    interview = r.json()
    assert interview["status"] == "scheduled"
    for invited in ("lin.wei@example.com", "ana@example.com", "bo@example.com"):  # each with the .ics
        assert "17:00" in platform.mail_body(find_mail(platform, invited, "Interview")[0])
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "interviewing", what="interviewing")
    not_shortlisted = recruiter.post(f"/v1/applications/{weak['id']}/interviews", json={
        "interviewers": ["ana"], "scheduled_at": "2026-12-01T09:00:00Z", "competencies": ["craft"]})
    assert not_shortlisted.status_code == 409

    card = {"interviewer": "ana", "ratings": {"craft": 5, "service": 4}, "recommendation": "strong_yes",
            "highlights": ["Perfect milk texturing"], "notes": "great"}
    assert ana.post(f"/v1/interviews/{interview['id']}/scorecards",
                    json={**card, "interviewer": "bo"}).status_code == 403
    missing = ana.post(f"/v1/interviews/{interview['id']}/scorecards", json={**card, "ratings": {"craft": 5}})
    assert missing.status_code == 422 and missing.json()["error"]["field"].startswith("ratings")
    assert ana.post(f"/v1/interviews/{interview['id']}/scorecards",
                    json={**card, "ratings": {"craft": 6, "service": 4}}).status_code == 422
    before = bo.get(f"/v1/interviews/{interview['id']}").json()
    assert ana.post(f"/v1/interviews/{interview['id']}/scorecards", json=card).status_code == 201
    assert ana.post(f"/v1/interviews/{interview['id']}/scorecards", json=card).status_code == 409
    assert before["scorecards"] == []
    hidden = bo.get(f"/v1/interviews/{interview['id']}").json()
    assert hidden["scorecards"] == []  # bo has not submitted yet
    r = bo.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": "bo", "ratings": {"craft": 3, "service": 4}, "recommendation": "yes",
        "highlights": ["Calm under a rush"]})
    assert r.status_code == 201, r.text
    done = wait_for(lambda: hr.get(f"/v1/interviews/{interview['id']}").json(), lambda i: i["status"] == "complete",
                    what="interview complete")
    summary = done["summary"]
    assert summary["average"] == 4.0
    assert summary["by_competency"] == {"craft": 4.0, "service": 4.0}
    assert summary["recommendations"]["strong_yes"] == 1 and summary["recommendations"]["yes"] == 1
    assert summary["discrepancy"]["flagged"] is True and summary["discrepancy"]["competencies"] == ["craft"]
    assert summary["discrepancy"]["spread"]["craft"] == 2
    interviewed = wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "interviewed",
                           what="interviewed")
    assert interviewed["interview"]["average"] == 4.0

    # --- decision: basic pass → offer with evidence, by email
    assert hr.post(f"/v1/applications/{weak['id']}/decision", json={"outcome": "pass"}).status_code == 409
    today = datetime.now(UTC).date()
    starts = [str(today + timedelta(days=30)), str(today + timedelta(days=44))]
    r = hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass", "note": "hire", "offer": {
        "salary": {"amount": 52000, "currency": "CNY", "period": "year"}, "start_date_options": starts,
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")}})
    assert r.status_code == 200, r.text
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "offered", what="offered")
    offer_mail = find_mail(platform, "lin.wei@example.com", "offer")[0]
    body = platform.mail_body(offer_mail)
    assert "4.0" in body and "100%" in body and "52,000" in body and starts[0] in body
    assert "Perfect milk texturing" in body and "Calm under a rush" in body
    link = portal_link(body)
    notices = hr.get(f"/v1/applications/{app['id']}/notifications").json()
    offer = next(n for n in notices if n["kind"] == "offer")
    assert offer["status"] == "sent" and offer["channel"] == "email" and offer["sent_at"]
    scheduled = {n["kind"] for n in notices if n["status"] == "scheduled"}
    assert {"guide", "hr_confirm_reminder"} <= scheduled

    # --- the candidate declines on the portal
    path = link.split("/portal/", 1)[1]
    page = platform.client().get(f"/portal/{path}", headers={"Accept": "application/json"}).json()
    assert page["status"] == "offered" and page["can_respond"] is True
    html = platform.client().get(f"/portal/{path}")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"] and "Accept" in html.text
    assert platform.client().get("/portal/forged.token").status_code == 404
    r = platform.client().post(f"/portal/{path}/response", json={"response": "decline"},
                               headers={"Idempotency-Key": "lin-declines"})
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text
    again = platform.client().post(f"/portal/{path}/response", json={"response": "decline"},
                                   headers={"Idempotency-Key": "lin-declines"})
    assert again.status_code == 200 and again.json() == r.json()  # a retried click changes nothing
    assert platform.client().post(f"/portal/{path}/response", json={"response": "accept"}).status_code == 409
    assert platform.client().post(f"/portal/{path}/response", json={"response": "maybe"}).status_code == 422
    final = app_status(hr, app["id"])
    assert [t["status"] for t in final["timeline"]] == [
        "received", "shortlisted", "interviewing", "interviewed", "offered", "declined"]

    # --- passed but not hired: into the talent pool (consent given)
    pool = wait_for(lambda: recruiter.get("/v1/talent-pool", params={"skill": "COFFEE"}).json()["items"],
                    lambda items: any(e["candidate_id"] == app["candidate_id"] for e in items), what="pooled")
    entry = next(e for e in pool if e["candidate_id"] == app["candidate_id"])
    assert entry["reason"] == "declined" and entry["prior"]["average"] == 4.0 and entry["retain_until"]
    assert not any(e["candidate_id"] == weak["candidate_id"] for e in pool)

    # --- an urgent requisition re-surfaces them, ranked and explained
    r = hr.post("/v1/requisitions", json={
        "title": "Head Barista", "division": "retail", "department": "flagship", "tier": "basic", "urgent": True,
        "required_skills": ["coffee"], "skills": ["latte art", "training"]})
    assert r.status_code == 201, r.text
    urgent = r.json()
    matches = wait_for(lambda: recruiter.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
                       lambda m: isinstance(m, list) and len(m) > 0, what="matches")
    top = matches[0]
    assert top["candidate_id"] == app["candidate_id"]
    assert top["prior_average"] == 4.0 and "coffee" in [s.lower() for s in top["matched_skills"]]
    assert top["reasons"] and top["pooled_reason"] == "declined"

    # --- re-engagement notice, accepted on the portal → fast-tracked application at `interviewed`
    r = recruiter.post(f"/v1/requisitions/{urgent['id']}/matches/{app['candidate_id']}/reengage")
    assert r.status_code == 202, r.text
    reengage_mail = find_mail(platform, "lin.wei@example.com", "Head Barista")
    link = portal_link(platform.mail_body(reengage_mail[0]))
    token = link.split("/portal/", 1)[1]
    r = platform.client().post(f"/portal/{token}/response", json={"response": "accept"})
    assert r.status_code == 200, r.text
    new_app_id = r.json()["application_id"]
    fast = wait_for(lambda: app_status(hr, new_app_id), lambda a: a["status"] == "interviewed", what="fast track")
    assert fast["source"] == "talent_pool" and fast["requisition_id"] == urgent["id"]
    assert fast["candidate_id"] == app["candidate_id"]
    assert fast["interview"]["average"] == 4.0
    candidate_view = hr.get(f"/v1/candidates/{app['candidate_id']}").json()
    assert set(candidate_view["applications"]) == {app["id"], new_app_id}
    kinds = {n["kind"] for n in hr.get(f"/v1/candidates/{app['candidate_id']}/notifications").json()}
    assert {"offer", "reengagement"} <= kinds

    # --- the README's step 9: HR publishes the role; Jo applies on the careers site with a text CV, typing
    # one skill; the CV names the others, so screening shortlists Jo on what the CV added
    r = hr.patch(f"/v1/requisitions/{req['id']}", json={"published": True,
                                                       "description": "Pull great coffee in our flagship store."})
    assert r.status_code == 200 and r.json()["published"] is True, r.text
    site = platform.client()
    site.headers.pop("Authorization")
    site.headers["X-Forwarded-For"] = "198.51.100.20"  # Jo's own address (the fuzz test spends loopback's)
    assert "Barista" in site.get("/careers").text
    page = site.get(f"/careers/jobs/{req['id']}/apply", params={"utm_source": "walk"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = site.post(f"/careers/jobs/{req['id']}/apply", follow_redirects=False, data={
        "csrf": csrf, "source": "walk", "name": "Jo Park", "email": "jo@example.com", "years_experience": "4",
        "skills": "coffee", "privacy_ack": "on"}, files={"cv": (
            "jo-cv.txt", b"Jo Park\nCoffee, customer service and latte art; 4 years of experience.\n", "text/plain")})
    assert r.status_code == 303, r.text
    assert portal_link(platform.mail_body(find_mail(platform, "jo@example.com", "We received")[0]))
    [jo] = [a for a in recruiter.get(f"/v1/requisitions/{req['id']}/applications").json()["items"]
            if a["source"] == "walk"]
    jo = wait_for(lambda: app_status(recruiter, jo["id"]), lambda a: a["status"] != "received", what="Jo screened")
    assert jo["status"] == "shortlisted"
    assert sorted(s.casefold() for s in jo["screening"]["skills_from_cv"]) == ["customer service", "latte art"]
    [cv] = recruiter.get(f"/v1/applications/{jo['id']}/documents").json()["items"]
    assert cv["kind"] == "cv" and cv["text_status"] == "extracted"


def test_bad_input_is_refused_and_changes_nothing(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "hugo", "hr", ["bakery"]))
    before = hr.get("/v1/requisitions").json()["items"]
    cases = [
        ({"title": "x", "division": "bakery", "department": "d", "tier": "gold", "required_skills": ["a"]}, "tier"),
        ({"division": "bakery", "department": "d", "tier": "basic", "required_skills": ["a"]}, "title"),
        ({"title": "x", "division": "bakery", "department": "d", "tier": "basic", "required_skills": ["a"],
          "status": "closed"}, "status"),
        ({"title": "x", "division": "bakery", "department": "d", "tier": "basic", "required_skills": "a"},
         "required_skills"),
        ({"title": "x", "division": "bakery", "department": "d", "tier": "basic", "required_skills": ["a"],
          "urgent": "yes"}, "urgent"),
    ]
    for body, field in cases:
        r = hr.post("/v1/requisitions", json=body)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["error"]
        assert err["field"] == field and err["code"] == "validation_error" and field in err["message"]
    assert hr.get("/v1/requisitions").json()["items"] == before
    assert platform.client("not-a-key").get("/v1/requisitions").status_code == 401
    r = hr.get("/v1/requisitions", params={"limit": 501})
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
    assert hr.post("/v1/applications", json={"requisition_id": "req_missing", "source": "web", "candidate": {
        "name": "N", "email": "n@example.com", "years_experience": 1}}).status_code == 404


def test_screened_out_candidate_answers_the_survey_on_the_portal_and_hr_reads_the_timing_report(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "sana", "hr", ["surveys"]))
    # a screen-out's rejection waits a day by default; a second here, so the test does not
    assert hr.put("/v1/notification-policies/surveys", json={"survey_after": 1,
                                                             "screen_out_rejection_delay": 1}).status_code == 200
    current = hr.get("/v1/notification-policies/surveys").json()
    assert current["division"] == "surveys" and current["hr_webhook_secret_set"] is False
    round_trip = hr.put("/v1/notification-policies/surveys", json=current)  # a GET's body sent back as is
    assert round_trip.status_code == 200 and round_trip.json() == current, round_trip.text
    wrong = hr.put("/v1/notification-policies/surveys", json={**current, "division": "other"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "division"
    req = hr.post("/v1/requisitions", json={"title": "Cashier", "division": "surveys", "department": "stores",
                                             "tier": "basic", "required_skills": ["cash handling"]}).json()
    email = "noor.survey@example.com"
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Noor", "email": email, "skills": ["baking"], "years_experience": 1}}).json()
    find_mail(platform, email, "Your application for")  # the respectful rejection, after its delay
    survey_mail = find_mail(platform, email, "experience")[0]
    token = portal_link(platform.mail_body(survey_mail)).split("/portal/", 1)[1]
    page = platform.client().get(f"/portal/{token}", headers={"Accept": "application/json"}).json()
    assert page["status"] == "screened_out" and page["survey"] == {"open": True, "answered": False}
    html = platform.client().get(f"/portal/{token}").text
    assert "How was your experience?" in html and 'name="score"' in html

    bad = platform.client().post(f"/portal/{token}/survey", json={"score": 9})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "score"
    r = platform.client().post(f"/portal/{token}/survey", json={"score": 5, "comment": "Quick and kind"})
    assert r.status_code == 200 and r.json()["score"] == 5, r.text
    again = platform.client().post(f"/portal/{token}/survey", json={"score": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_answered"
    page = platform.client().get(f"/portal/{token}", headers={"Accept": "application/json"}).json()
    assert page["survey"] == {"open": False, "answered": True}

    report = hr.get("/v1/reports/notification-timing", params={"division": "surveys", "from": "2020-01-01"})
    assert report.status_code == 200, report.text
    [group] = report.json()["groups"]
    assert (group["kind"], group["tier"], group["mode"], group["count"]) == ("rejection", "basic", "delayed", 1)
    assert group["surveys"] == 1 and group["average_survey_score"] == 5.0
    assert group["median_delay_seconds"] is not None and 1 <= group["median_delay_seconds"] < 10
    bad_date = hr.get("/v1/reports/notification-timing", params={"from": "last week"})
    assert bad_date.status_code == 422 and bad_date.json()["error"]["field"] == "from"
    other = platform.client(make_key(admin, "omar", "hr", ["elsewhere"]))
    assert other.get("/v1/reports/notification-timing", params={"division": "surveys"}).status_code == 404
    interviewer = platform.client(make_key(admin, "ines", "interviewer", ["surveys"]))
    assert interviewer.get("/v1/reports/notification-timing").status_code == 403
    assert app["id"]


def test_revoked_key_stops_working_at_once(platform):
    admin = platform.client()
    created = admin.post("/v1/api-keys", json={"name": "tmp", "role": "recruiter", "divisions": ["retail"]}).json()
    client = platform.client(created["key"])
    assert client.get("/v1/requisitions").status_code == 200
    assert admin.delete(f"/v1/api-keys/{created['id']}").status_code == 204
    assert client.get("/v1/requisitions").status_code == 401


def test_two_screening_replicas_share_the_load(platform):
    """Competing consumers: every application is screened exactly once, by one of the two replicas."""
    from pymongo import MongoClient

    admin = platform.client()
    hr = platform.client(make_key(admin, "hai", "hr", ["warehouse"]))
    req = hr.post("/v1/requisitions", json={"title": "Picker", "division": "warehouse", "department": "dc",
                                            "tier": "basic", "required_skills": ["forklift"]}).json()
    ids = []
    for n in range(40):
        r = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
            "name": f"P{n}", "email": f"p{n}@example.com", "skills": ["forklift"], "years_experience": 1}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    for app_id in ids:
        wait_for(lambda a=app_id: app_status(hr, a), lambda a: a["status"] == "shortlisted", what=app_id)
    with MongoClient(platform.env["MONGO_URL"]) as mongo:
        results = list(mongo[f"{platform.env['HIRELOOP_NAMESPACE']}_screening"].results.find({"_id": {"$in": ids}}))
    assert len(results) == len(ids)
    by_replica = {}
    for doc in results:
        by_replica[doc["screened_by"]] = by_replica.get(doc["screened_by"], 0) + 1
    assert len(by_replica) == 2, by_replica
    for app_id in ids:
        timeline = app_status(hr, app_id)["timeline"]
        assert [t["status"] for t in timeline] == ["received", "shortlisted"]


def test_openapi_document_describes_the_contract(platform):
    anonymous = platform.client("")
    spec = anonymous.get("/openapi.json").json()
    for path in ("/v1/requisitions", "/v1/applications", "/v1/applications/{application_id}",
                 "/v1/interviews/{interview_id}/scorecards", "/v1/applications/{application_id}/decision",
                 "/v1/approvals/{approval_id}", "/v1/talent-pool", "/v1/requisitions/{requisition_id}/matches",
                 "/v1/notification-policies/{division}", "/portal/{token}", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert anonymous.get("/docs").status_code == 200
    missing = anonymous.get("/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert platform.client().get("/healthz").json() == {"status": "ok"}
