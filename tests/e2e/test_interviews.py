"""Interviews over HTTP and the captured mail, against the whole platform (issue 19): offered slots, the
candidate picking one on the portal, invitations whose .ics parses with icalendar (instant and zone, UID,
METHOD:REQUEST), a reschedule (SEQUENCE raised), reminders at the policy's offsets (seconds here), a cancellation
(METHOD:CANCEL); then an interview already held: the overdue-scorecard reminder to the one interviewer who owes
theirs, the overdue list, and a no-show counted in the notification-timing report. Bad input changes nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.e2e.test_candidate_words import message
from tests.e2e.test_hiring_loop import app_status, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SHANGHAI = "Asia/Shanghai"


def key(admin, name: str, role: str, division: str, email: str | None = None) -> str:
    body = {"name": name, "role": role, "divisions": [division], **({"email": email} if email else {})}
    r = admin.post("/v1/api-keys", json=body)
    assert r.status_code == 201, r.text
    return r.json()["key"]


def at(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def mails(platform, to: str, kind: str) -> list:
    """(message, body) of every captured email of `kind` to `to`, oldest first."""
    found = []
    for entry in platform.mail():
        if to.lower() in [t.lower() for t in entry["to"]]:
            msg = message(platform, entry)
            if msg["X-Hireloop-Kind"] == kind:
                found.append((msg, msg.get_body(preferencelist=("plain",)).get_content()))
    return found


def wait_mails(platform, to: str, kind: str, count: int = 1, timeout: float = 30) -> list:
    return wait_for(lambda: mails(platform, to, kind), lambda found: len(found) >= count, timeout=timeout,
                    what=f"{count} {kind} email(s) to {to}")


def calendar_of(msg) -> tuple[str, Calendar]:
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part.get_param("method"), Calendar.from_ical(part.get_payload(decode=True))


def event_of(cal: Calendar):
    [event] = [c for c in cal.walk("VEVENT")]
    return event


def shortlisted_application(platform, recruiter, hr, division: str, email: str) -> dict:
    req = hr.post("/v1/requisitions", json={"title": "Roaster", "division": division, "department": "roastery",
                                            "tier": "basic", "required_skills": ["roasting"]}).json()
    app = recruiter.post("/v1/applications", json={
        "requisition_id": req["id"], "source": "referral",
        "candidate": {"name": "Ivo Interview", "email": email, "skills": ["roasting"], "years_experience": 3}}
    ).json()
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    return app


def test_slots_invitation_reschedule_reminders_and_cancellation(platform):
    admin = platform.client()
    division = f"iv-{secrets.token_hex(3)}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(key(admin, "hugo", "hr", division))
    recruiter = platform.client(key(admin, "rita", "recruiter", division))
    key(admin, "ines", "interviewer", division, email="ines@iv.example")
    assert hr.put(f"/v1/notification-policies/{division}", json={
        "interview_reminders": [4, 2], "scorecard_reminder_after": 2}).status_code == 200
    email = f"ivo.{division}@example.com"
    app = shortlisted_application(platform, recruiter, hr, division, email)
    base = {"interviewers": ["ines"], "competencies": ["craft"], "timezone": SHANGHAI, "format": "video",
            "meeting_url": "https://meet.example/roaster", "instructions": "Bring a bag of your best beans."}

    # Bad input changes nothing: an unknown interviewer, durations out of range, an unknown zone, past slots.
    for body, field in (({**base, "interviewers": ["nobody"], "starts_at": iso(at(3600))}, "interviewers"),
                        ({**base, "starts_at": iso(at(3600)), "duration_minutes": 0}, "duration_minutes"),
                        ({**base, "starts_at": iso(at(3600)), "duration_minutes": 481}, "duration_minutes"),
                        ({**base, "starts_at": iso(at(3600)), "timezone": "Mars/Olympus"}, "timezone"),
                        ({**base, "slots": [iso(at(-3600)), iso(at(3600))]}, "slots")):
        r = recruiter.post(f"/v1/applications/{app['id']}/interviews", json=body)
        assert r.status_code == 422 and r.json()["error"]["field"].startswith(field), (field, r.text)
    assert app_status(recruiter, app["id"])["status"] == "shortlisted"

    # Offered slots: the candidate gets their portal link and picks one there.
    first, second = at(3600), at(7200)
    r = recruiter.post(f"/v1/applications/{app['id']}/interviews",
                       json={**base, "slots": [iso(first), iso(second)]})
    assert r.status_code == 201, r.text
    interview = r.json()
    assert interview["status"] == "awaiting_candidate"
    [(_, body)] = wait_mails(platform, email, "interview_slots")
    token = portal_link(body).split("/portal/", 1)[1]
    anonymous = platform.client()
    anonymous.headers.pop("Authorization")
    assert anonymous.post(f"/portal/{token}/slot", json={"starts_at": iso(at(5400))}).status_code == 409
    r = anonymous.post(f"/portal/{token}/slot", json={"starts_at": iso(first)})
    assert r.status_code == 200, r.text

    # Invitations to the candidate and the interviewer: the .ics says REQUEST, its UID, SEQUENCE 0, the instant
    # in the interview's zone.
    for to in (email, "ines@iv.example"):
        [(msg, text)] = wait_mails(platform, to, "interview_invitation")
        method, cal = calendar_of(msg)
        event = event_of(cal)
        assert method == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == f"{interview['id']}@hireloop" and int(event["SEQUENCE"]) == 0
        start = event.decoded("DTSTART")
        assert start == first and str(start.tzinfo) == SHANGHAI
        assert first.astimezone(ZoneInfo(SHANGHAI)).strftime("%H:%M") in text
    uid = f"{interview['id']}@hireloop"

    # A reschedule: an update with the same UID and SEQUENCE raised; reminders follow the new time.
    moved = at(9)
    r = recruiter.patch(f"/v1/interviews/{interview['id']}", json={"starts_at": iso(moved)})
    assert r.status_code == 200, r.text
    invitations = wait_mails(platform, email, "interview_invitation", count=2)
    method, cal = calendar_of(invitations[-1][0])
    event = event_of(cal)
    assert method == "REQUEST" and str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == moved

    # Reminders to the candidate at the policy's offsets before the start (4 s and 2 s here).
    wait_mails(platform, email, "interview_reminder", count=2, timeout=30)
    reminders = [n for n in recruiter.get(f"/v1/applications/{app['id']}/notifications").json()
                 if n["kind"] == "interview_reminder" and n["status"] == "sent"]
    planned = sorted(datetime.fromisoformat(n["scheduled_for"].replace("Z", "+00:00")) for n in reminders)
    assert planned == [moved - timedelta(seconds=4), moved - timedelta(seconds=2)]

    # The cancellation: METHOD:CANCEL to everyone, the application back to shortlisted.
    r = recruiter.post(f"/v1/interviews/{interview['id']}/cancel", json={"reason": "the roaster broke down"})
    assert r.status_code == 200, r.text
    for to in (email, "ines@iv.example"):
        [(msg, text)] = wait_mails(platform, to, "interview_cancelled")
        method, cal = calendar_of(msg)
        event = event_of(cal)
        assert method == "CANCEL" and str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
        assert "roaster broke down" not in text or to != email  # the reason is staff's, not the candidate's
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")


def test_an_interview_held_reminds_the_interviewer_who_owes_a_scorecard_and_counts_a_no_show(platform):
    admin = platform.client()
    division = f"iv-{secrets.token_hex(3)}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(key(admin, "hedda", "hr", division))
    recruiter = platform.client(key(admin, "rolf", "recruiter", division))
    key(admin, "ines", "interviewer", division, email=f"ines@{division}.example")
    otto = platform.client(key(admin, "otto", "interviewer", division, email=f"otto@{division}.example"))
    assert hr.put(f"/v1/notification-policies/{division}", json={"scorecard_reminder_after": 2}).status_code == 200
    app = shortlisted_application(platform, recruiter, hr, division, f"nia.{division}@example.com")
    started = at(-62)  # a one-minute interview that ended a moment ago
    r = recruiter.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["ines", "otto"], "competencies": ["craft"], "starts_at": iso(started),
        "duration_minutes": 1, "format": "onsite", "location": "Roastery, 2nd floor"})
    assert r.status_code == 201, r.text
    interview = r.json()
    assert otto.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": "otto", "ratings": {"craft": 4}, "recommendation": "yes"}).status_code == 201

    # Only Ines, whose scorecard is missing, is reminded; HR sees her on the overdue list.
    [(_, body)] = wait_mails(platform, f"ines@{division}.example", "scorecard_reminder", timeout=30)
    assert "Ivo Interview" in body or interview["id"] in body or "Roaster" in body
    assert mails(platform, f"otto@{division}.example", "scorecard_reminder") == []
    overdue = hr.get("/v1/reports/overdue-scorecards", params={"division": division}).json()["items"]
    assert [(o["interview_id"], o["missing"]) for o in overdue] == [(interview["id"], ["ines"])]

    # The candidate did not come: recorded, and counted in the notification-timing report.
    r = recruiter.post(f"/v1/interviews/{interview['id']}/attendance", json={"candidate": "no_show"})
    assert r.status_code == 200, r.text
    assert recruiter.post(f"/v1/interviews/{interview['id']}/attendance",
                          json={"candidate": "maybe"}).status_code == 422
    report = wait_for(lambda: hr.get("/v1/reports/notification-timing",
                                     params={"division": division, "from": "2020-01-01"}).json(),
                      lambda rep: rep["interviews"]["recorded"] == 1, what="the no-show counted")
    assert report["interviews"]["no_show"] == 1 and report["interviews"]["no_show_rate"] == 1.0
