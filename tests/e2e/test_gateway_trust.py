"""Issue 15, the gateway's findings that need the real services, each first tried as an attacker would against
the running platform (findings 7, 8 and 10 need only the gateway: gateway/tests/test_gateway_trust.py):

6. an erasure left cached idempotent answers whose body names no candidate or application (a scorecard's
   notes, an approval step's note) in Redis, and a replay returned them;
9. the console's live board stream kept sending after its key was revoked or its session signed out.
"""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from tests.e2e.test_hiring_loop import app_status, make_key
from tests.support.divisions import register_over_api
from tests.support.dump import occurrences, platform_dump, redis_dump
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def redis_traces(platform, needles: list[str]) -> list[tuple[str, str]]:
    return occurrences(redis_dump(platform.env["REDIS_URL"], platform.env["HIRELOOP_NAMESPACE"]), needles)


# ------------------------------------------------------------------------------------------------ finding 6


def test_erasure_drops_cached_answers_that_name_only_an_interview_or_an_approval_step(platform):
    division = f"trust-erase-{secrets.token_hex(3)}"
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, "tessa", "hr", [division]))
    tina = platform.client(make_key(admin, "tina", "interviewer", [division]))
    card_note = f"Tina thinks the candidate's accent is odd {secrets.token_hex(4)}"
    step_note = f"Approved despite the family situation {secrets.token_hex(4)}"
    req = hr.post("/v1/requisitions", json={"title": "Auditor", "division": division, "department": "finance",
                                            "tier": "core", "required_skills": ["audit"]}).json()
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Ulla Unnamed", "email": f"ulla.{secrets.token_hex(3)}@example.org", "skills": ["audit"],
        "years_experience": 3}}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview = hr.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["tina"], "scheduled_at": "2026-12-07T09:00:00Z", "competencies": ["rigour"]}).json()

    # The console sends an Idempotency-Key with every POST; so does this client.
    card = {"interviewer": "tina", "ratings": {"rigour": 4}, "recommendation": "yes", "notes": card_note}
    card_post = (f"/v1/interviews/{interview['id']}/scorecards", {"Idempotency-Key": "card-1"}, card)
    assert tina.post(card_post[0], headers=card_post[1], json=card_post[2]).status_code == 201
    replayed = tina.post(card_post[0], headers=card_post[1], json=card_post[2])
    assert replayed.headers.get("Idempotent-Replayed") == "true" and card_note in replayed.text
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "interviewed", what="interviewed")
    assert hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass"}).status_code == 200
    step = hr.get(f"/v1/applications/{app['id']}/approvals").json()[0]
    step_post = (f"/v1/approvals/{step['id']}", {"Idempotency-Key": "step-1"}, {"decision": "approve",
                                                                                "note": step_note})
    approved = hr.post(step_post[0], headers=step_post[1], json=step_post[2])
    assert approved.status_code == 200 and step_note in approved.text
    # Neither cached answer names the candidate or the application: only the interview or the step.
    dump = redis_dump(platform.env["REDIS_URL"], platform.env["HIRELOOP_NAMESPACE"])
    cached = occurrences(dump, [card_note, step_note])
    assert {n for _, n in cached} == {card_note, step_note}, cached
    assert [s for s, _ in cached if app["id"] in dump[s] or app["candidate_id"] in dump[s]] == []

    erasure = admin.delete(f"/v1/candidates/{app['candidate_id']}")
    assert erasure.status_code == 202, erasure.text
    assert erasure.json()["services"]["gateway"]["counts"]["idempotency_records"] >= 2
    wait_for(lambda: admin.get(f"/v1/erasures/{erasure.json()['id']}").json(),
             lambda e: e["status"] == "completed", what="erasure completed")

    assert redis_traces(platform, [card_note, step_note]) == []
    assert occurrences(platform_dump(platform.env), [card_note, step_note]) == []
    # A replay finds nothing remembered: it is a new request, and what it answers holds no note.
    for client, (path, headers, body) in ((tina, card_post), (hr, step_post)):
        again = client.post(path, headers=headers, json=body)
        assert "Idempotent-Replayed" not in again.headers and again.status_code in (404, 409), again.text
        assert card_note not in again.text and step_note not in again.text


# ------------------------------------------------------------------------------------------------ finding 9


def console_client(platform, key: str) -> tuple[httpx.Client, str]:
    """A browser-like client signed in to the console over HTTP, and its session's CSRF token."""
    client = httpx.Client(base_url=platform.base_url, timeout=30)
    page = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    signed_in = client.post("/console/login", data={"csrf": token, "api_key": key, "next": ""})
    assert signed_in.status_code == 303, signed_in.text
    home = client.get("/console/requisitions")
    assert home.status_code == 200
    return client, re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


def read_until(lines, wanted: str) -> list[str]:
    seen = []
    for line in lines:
        seen.append(line)
        if line == wanted:
            return seen
    raise AssertionError(f"the stream ended before {wanted!r}: {seen}")


@pytest.mark.parametrize("how", ["key revoked", "signed out"])
def test_an_open_board_stream_ends_soon_after_revocation_or_sign_out(platform, how):
    division = f"trust-live-{secrets.token_hex(3)}"
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    key = make_key(admin, f"lena-{secrets.token_hex(2)}", "hr", [division])
    key_id = next(k["id"] for k in admin.get("/v1/api-keys", params={"limit": 500}).json()["items"]
                  if k["name"].startswith("lena-") and k["divisions"] == [division])
    hr = platform.client(key)
    req = hr.post("/v1/requisitions", json={"title": "Cook", "division": division, "department": "kitchen",
                                            "tier": "basic", "required_skills": ["knife"]}).json()
    browser, csrf = console_client(platform, key)
    # Keep-alives come every 15 s: a read that waits 8 s without a byte means the stream is still open.
    with browser.stream("GET", f"/console/requisitions/{req['id']}/stream",
                        timeout=httpx.Timeout(30, read=8)) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        read_until(lines, "event: ready")
        hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
            "name": "Liv Live", "email": f"liv.{secrets.token_hex(3)}@example.org", "skills": ["knife"],
            "years_experience": 1}})
        read_until(lines, "event: application")  # the stream is live

        if how == "key revoked":
            assert admin.delete(f"/v1/api-keys/{key_id}").status_code == 204
        else:
            assert browser.post("/console/logout", data={"csrf": csrf}).status_code == 303
        rest = list(lines)  # ends, or raises ReadTimeout while the stream stays open
    assert "event: signed-out" in rest, rest
    assert browser.get(f"/console/requisitions/{req['id']}/stream").status_code == 401  # no way back in
