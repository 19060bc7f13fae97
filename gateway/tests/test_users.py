"""Staff users in process (issue 20): /v1/users, invitation links, email and password sign-in with lockout,
a TOTP second factor, password reset, and deactivation ending sessions and keys at once. The services are
the fake of gateway/testing.py (sourcing's division records, notification's SendStaffEmail recorded); the
users, keys, links, sessions and lockouts are the gateway's own, on the session's real MongoDB and Redis."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pyotp
import pytest
import redis
from pymongo import MongoClient

from gateway.console.session import COOKIE, LOGIN_COOKIE
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import notification, sourcing
from shared.timeutil import utcnow

ORIGIN = {"Origin": "http://testserver"}
GOOD_PASSWORD = "violet harbour tram 42"
DIVISION = {"name": "Retail", "timezone": "Europe/London", "locale": "en", "careers_blurb": "", "colour": "#1f6f5c",
            "created_at": "2026-01-01T00:00:00Z"}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "users") as namespace, running(gateway_settings(
            data_infra, namespace, rate_limit_anonymous=None)) as gw:  # lockouts, not the bucket, are tested
        yield gw


@pytest.fixture
def gw(gateway, data_infra):
    gateway.fake.reset()
    # retail and logistics are registered; "ghost" only has requisitions (no record): not a division to name
    gateway.fake.answer(sourcing.ListDivisions, {"items": [
        {"id": "retail", **DIVISION}, {"id": "logistics", **DIVISION, "name": "Logistics"},
        {"id": "ghost", **DIVISION, "created_at": None}]})
    gateway.fake.registers("retail", "logistics")  # what API keys may name (gateway/divisions.py)
    gateway.fake.answer(notification.SendStaffEmail, lambda call: {"message_id": f"<{secrets.token_hex(4)}@t>"})
    r = redis.Redis.from_url(data_infra.redis_url)
    for key in r.scan_iter(f"{gateway.settings.namespace}:signin:*"):  # lockouts are per test
        r.delete(key)
    r.close()
    gateway.client.cookies.clear()
    return gateway


def users_collection(gw, data_infra):
    return MongoClient(data_infra.mongo_url, tz_aware=True)[gw.settings.database_name("gateway")]


def invite(gw, headers, **fields) -> dict:
    body = {"email": f"p{secrets.token_hex(4)}@example.com", "name": "Mei Lin", "role": "recruiter",
            "divisions": ["retail"], **fields}
    created = gw.client.post("/v1/users", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


def link_of(gw, email: str) -> str:
    """The path of the newest link emailed to `email` (what notification was asked to send)."""
    calls = [c for c in gw.fake.calls_to(notification.SendStaffEmail) if c.kwargs["to"] == email]
    link = calls[-1].kwargs["link"]
    assert link.startswith(gw.settings.public_url)
    return link[len(gw.settings.public_url):]


def login_csrf(gw) -> str:
    gw.client.get("/console/login")
    return gw.client.cookies[LOGIN_COOKIE]


def set_password(gw, path: str, password: str):
    page = gw.client.get(path)
    token = gw.client.cookies[LOGIN_COOKIE]
    return page, gw.client.post(path, data={"csrf": token, "password": password}, headers=ORIGIN)


def sign_in(gw, email: str, password: str):
    return gw.client.post("/console/login", data={"csrf": login_csrf(gw), "email": email, "password": password},
                          headers=ORIGIN)


def active_user(gw, admin, **fields) -> dict:
    user = invite(gw, admin, **fields)
    _, done = set_password(gw, link_of(gw, user["email"]), GOOD_PASSWORD)
    assert done.status_code == 303
    return user


# ---------------------------------------------------------------------------------------------- /v1/users

def test_an_admin_invites_a_user_who_gets_a_link_in_their_locale(gw):
    admin = gw.as_("admin")
    created = invite(gw, admin, email="Wang.Fang@Example.com", name="Wang Fang", role="hr", locale="zh-CN",
                     timezone="Asia/Shanghai")
    assert {k: created[k] for k in ("email", "name", "role", "divisions", "status")} == {
        "email": "wang.fang@example.com", "name": "Wang Fang", "role": "hr", "divisions": ["retail"],
        "status": "invited"}
    assert created["id"].startswith("usr_") and created["invitation_sent"] is True
    [call] = gw.fake.calls_to(notification.SendStaffEmail)
    assert call.caller.role == "system" and call.kwargs["template"] == "staff_invitation"
    assert call.kwargs["locale"] == "zh-CN" and call.kwargs["name"] == "Wang Fang"
    assert re.fullmatch(re.escape(gw.settings.public_url) + r"/console/invitations/[A-Za-z0-9_\-]{40,}",
                        call.kwargs["link"])
    assert gw.client.get(f"/v1/users/{created['id']}", headers=admin).json()["status"] == "invited"


def test_a_duplicate_email_is_409_and_an_unknown_division_422_naming_it_with_nothing_stored(gw, data_infra):
    admin = gw.as_("admin")
    first = invite(gw, admin)
    again = gw.client.post("/v1/users", json={"email": first["email"].upper(), "name": "Other", "role": "recruiter",
                                              "divisions": ["retail"]}, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "user_exists" and again.json()["error"]["field"] == "email"

    for division in ("retial", "ghost"):
        email = f"nobody-{secrets.token_hex(3)}@example.com"
        refused = gw.client.post("/v1/users", json={"email": email, "name": "N", "role": "recruiter",
                                                    "divisions": [division]}, headers=admin)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "divisions", refused.text
        assert users_collection(gw, data_infra).users.find_one({"email": email}) is None
    no_division = gw.client.post("/v1/users", json={"email": "x@example.com", "name": "N", "role": "interviewer"},
                                 headers=admin)
    assert no_division.status_code == 422 and no_division.json()["error"]["field"] == "divisions"
    bad_zone = gw.client.post("/v1/users", json={"email": "y@example.com", "name": "N", "role": "interviewer",
                                                 "divisions": ["retail"], "timezone": "Mars/Base"}, headers=admin)
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.json()["error"]["field"]
    assert not [c for c in gw.fake.calls_to(notification.SendStaffEmail) if c.kwargs["to"] != first["email"]]


def test_hr_invites_recruiters_and_interviewers_of_its_own_divisions_only_and_sees_only_them(gw):
    admin, hr = gw.as_("admin"), gw.as_("hr", ("retail",))
    mine = invite(gw, hr, role="interviewer")
    for body in ({"role": "admin", "divisions": []}, {"role": "hr", "divisions": ["retail"]},
                 {"role": "recruiter", "divisions": ["logistics"]},
                 {"role": "recruiter", "divisions": ["retail", "logistics"]}):
        refused = gw.client.post("/v1/users", json={"email": f"z{secrets.token_hex(3)}@example.com", "name": "Z",
                                                    **body}, headers=hr)
        assert refused.status_code == 403, body
    theirs = invite(gw, admin, divisions=["logistics"])
    listed = {u["id"] for u in gw.client.get("/v1/users", headers=hr).json()["items"]}
    assert mine["id"] in listed and theirs["id"] not in listed
    assert gw.client.get(f"/v1/users/{theirs['id']}", headers=hr).status_code == 404
    assert gw.client.delete(f"/v1/users/{theirs['id']}", headers=hr).status_code == 404
    assert gw.client.get("/v1/users", headers=gw.as_("recruiter")).status_code == 403


# ---------------------------------------------------------------------------------------------- invitations

def test_the_invitation_link_sets_a_strong_password_once(gw, data_infra):
    user = invite(gw, gw.as_("admin"), name="Mei Lin")
    path = link_of(gw, user["email"])
    page, weak = set_password(gw, path, "short")
    assert page.status_code == 200 and 'for="password"' in page.text and 'name="csrf"' in page.text
    assert weak.status_code == 422 and "password: use at least 12 characters" in weak.text
    for bad in ("password1234", "meilin-meilin", user["email"]):
        _, refused = set_password(gw, path, bad)
        assert refused.status_code == 422, bad
    stored = users_collection(gw, data_infra).users.find_one({"_id": user["id"]})
    assert stored["status"] == "invited" and stored["password_hash"] is None  # nothing changed

    _, done = set_password(gw, path, GOOD_PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/console/login?password_set=1"
    stored = users_collection(gw, data_infra).users.find_one({"_id": user["id"]})
    assert stored["status"] == "active" and stored["password_hash"].startswith("$argon2id$")

    reused_page, reused = set_password(gw, path, "another good passphrase 7")
    assert reused_page.status_code == 400 and reused.status_code == 400 and "already been used" in reused.text
    assert users_collection(gw, data_infra).users.find_one({"_id": user["id"]})["password_hash"] == \
        stored["password_hash"]
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 303


def test_an_expired_invitation_is_410_and_changes_nothing(gw, data_infra):
    user = invite(gw, gw.as_("admin"))
    path = link_of(gw, user["email"])
    users_collection(gw, data_infra).user_tokens.update_many(
        {"user_id": user["id"]}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    page, posted = set_password(gw, path, GOOD_PASSWORD)
    assert page.status_code == 410 and posted.status_code == 410 and "expired" in posted.text
    assert users_collection(gw, data_infra).users.find_one({"_id": user["id"]})["status"] == "invited"
    assert gw.client.get("/console/invitations/not-a-token").status_code == 404


# ---------------------------------------------------------------------------------------------- sign-in

def test_email_and_password_sign_in_acts_as_the_user_and_refuses_alike_unknown_email_and_wrong_password(gw):
    admin = gw.as_("admin")
    user = active_user(gw, admin, name="Rita Recruiter", role="recruiter")
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    wrong = sign_in(gw, user["email"], "not the password at all")
    unknown = sign_in(gw, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'role="alert">([^<]+)<')
    assert message.search(wrong.text).group(1) == message.search(unknown.text).group(1)

    signed_in = sign_in(gw, user["email"].upper(), GOOD_PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/requisitions"
    assert gw.client.get("/console/requisitions").status_code == 200
    [call] = gw.fake.calls_to(sourcing.ListRequisitions)
    assert (call.caller.name, call.caller.role, call.caller.divisions) == ("Rita Recruiter", "recruiter", ("retail",))
    listed = gw.client.get("/v1/api-keys", headers=admin).json()["items"]
    assert not [k for k in listed if k.get("user_id") == user["id"]]  # a sign-in is no API key to manage


def test_repeated_failures_lock_the_account_with_backoff_even_for_the_right_password(gw):
    throttle = gw.app.state.gateway.throttle
    throttle.BASE_SECONDS = 2
    try:
        user = active_user(gw, gw.as_("admin"))
        for _ in range(throttle.ACCOUNT_AFTER):
            assert sign_in(gw, user["email"], "wrong password here").status_code == 401
        locked = sign_in(gw, user["email"], GOOD_PASSWORD)
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        assert 1 <= int(locked.headers["Retry-After"]) <= 2
        # an unknown address locks the same way, with the same answer
        for _ in range(throttle.ACCOUNT_AFTER):
            sign_in(gw, "ghost@example.com", "wrong password here")
        assert sign_in(gw, "ghost@example.com", "wrong password here").status_code == 429

        import time
        time.sleep(2.2)
        assert sign_in(gw, user["email"], "wrong again, doubling").status_code == 401  # the 6th: locked 4 s now
        doubled = sign_in(gw, user["email"], GOOD_PASSWORD)
        assert doubled.status_code == 429 and 3 <= int(doubled.headers["Retry-After"]) <= 4
        time.sleep(4.2)
        assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 303
    finally:
        throttle.BASE_SECONDS = type(throttle).BASE_SECONDS


def test_one_address_failing_on_many_accounts_is_locked(gw):
    throttle = gw.app.state.gateway.throttle
    for i in range(throttle.ADDRESS_AFTER):
        assert sign_in(gw, f"guess{i}@example.com", "wrong password here").status_code == 401
    assert sign_in(gw, "fresh@example.com", "wrong password here").status_code == 429


# ---------------------------------------------------------------------------------------------- deactivation

def test_deactivating_a_user_ends_their_session_and_keys_at_once(gw):
    admin = gw.as_("admin")
    user = active_user(gw, admin, role="hr")
    key = gw.client.post("/v1/api-keys", json={"name": "mei-laptop", "role": "hr", "divisions": ["retail"],
                                               "user_id": user["id"]}, headers=admin)
    assert key.status_code == 201 and key.json()["user_id"] == user["id"]
    own = {"Authorization": f"Bearer {key.json()['key']}"}
    assert gw.client.get("/v1/users", headers=own).status_code == 200
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 303
    assert gw.client.get("/console/requisitions").status_code == 200

    assert gw.client.delete(f"/v1/users/{user['id']}", headers=admin).status_code == 204
    ended = gw.client.get("/console/requisitions")
    assert ended.status_code == 303 and ended.headers["location"] == "/console/login?expired=1"
    assert not gw.client.cookies.get(COOKIE)
    assert gw.client.get("/v1/users", headers=own).status_code == 401
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 401
    assert gw.client.get(f"/v1/users/{user['id']}", headers=admin).json()["status"] == "deactivated"


def test_a_users_key_may_not_exceed_the_user(gw):
    admin = gw.as_("admin")
    user = invite(gw, admin, role="interviewer")
    for body, field in (({"role": "hr", "divisions": ["retail"]}, "role"),
                        ({"role": "interviewer", "divisions": ["logistics"]}, "divisions")):
        refused = gw.client.post("/v1/api-keys", json={"name": "k", "user_id": user["id"], **body}, headers=admin)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field
    unknown = gw.client.post("/v1/api-keys", json={"name": "k", "role": "hr", "divisions": ["retail"],
                                                   "user_id": "usr_nobody"}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "user_id"


# ---------------------------------------------------------------------------------------------- TOTP, reset

def test_a_second_factor_is_enrolled_with_a_code_then_asked_for_at_sign_in(gw):
    user = active_user(gw, gw.as_("admin"), role="interviewer")
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 303
    account = gw.client.get("/console/account")
    csrf = re.search(r'name="csrf" value="([^"]+)"', account.text).group(1)
    assert gw.client.post("/console/account/totp", data={"csrf": csrf}, headers=ORIGIN).status_code == 303
    shown = gw.client.get("/console/account").text
    secret = re.search(r'id="totp_secret" readonly value="([A-Z2-7]+)"', shown).group(1)
    assert "otpauth://totp/hireloop:" in shown
    wrong = gw.client.post("/console/account/totp/confirm", data={"csrf": csrf, "code": "000000"}, headers=ORIGIN)
    assert "code: that code is not right" in gw.client.get(wrong.headers["location"]).text
    gw.client.post("/console/account/totp/confirm", data={"csrf": csrf, "code": pyotp.TOTP(secret).now()},
                   headers=ORIGIN)
    assert "On: signing in asks for a code" in gw.client.get("/console/account").text
    gw.client.cookies.clear()

    asked = sign_in(gw, user["email"], GOOD_PASSWORD)
    assert asked.status_code == 200 and 'for="code"' in asked.text and not gw.client.cookies.get(COOKIE)
    pending = re.search(r'name="pending" value="([^"]+)"', asked.text).group(1)
    form = {"csrf": gw.client.cookies[LOGIN_COOKIE], "pending": pending}
    bad = gw.client.post("/console/login/code", data={**form, "code": "123456"}, headers=ORIGIN)
    assert bad.status_code == 401 and not gw.client.cookies.get(COOKIE)
    good = gw.client.post("/console/login/code", data={**form, "code": pyotp.TOTP(secret).now()}, headers=ORIGIN)
    assert good.status_code == 303 and good.headers["location"] == "/console/interviews"
    assert gw.client.cookies.get(COOKIE)
    gw.client.cookies.set(LOGIN_COOKIE, form["csrf"], path="/console")  # (signing in dropped it)
    again = gw.client.post("/console/login/code", data={**form, "code": pyotp.TOTP(secret).now()}, headers=ORIGIN)
    assert again.status_code == 401  # the pending sign-in is used up


def test_a_password_reset_link_is_sent_only_to_an_active_account_and_ends_old_sessions(gw):
    user = active_user(gw, gw.as_("admin"))
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 303
    old_session = gw.client.cookies[COOKIE]
    gw.client.cookies.clear()

    def ask(email):
        gw.client.get("/console/password-reset")
        return gw.client.post("/console/password-reset",
                              data={"csrf": gw.client.cookies[LOGIN_COOKIE], "email": email}, headers=ORIGIN)
    unknown, known = ask("nobody@example.com"), ask(user["email"])
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace(gw.client.cookies[LOGIN_COOKIE], "") == known.text.replace(
        gw.client.cookies[LOGIN_COOKIE], "")
    resets = [c for c in gw.fake.calls_to(notification.SendStaffEmail)
              if c.kwargs["template"] == "staff_password_reset"]
    assert [c.kwargs["to"] for c in resets] == [user["email"]]
    _, done = set_password(gw, link_of(gw, user["email"]), "a brand new passphrase 9")
    assert done.status_code == 303
    gw.client.cookies.set(COOKIE, old_session, path="/console")
    assert gw.client.get("/console/requisitions").headers["location"] == "/console/login?expired=1"
    assert sign_in(gw, user["email"], GOOD_PASSWORD).status_code == 401
    assert sign_in(gw, user["email"], "a brand new passphrase 9").status_code == 303


def test_an_invitation_that_could_not_be_sent_is_said_and_sent_again_with_a_new_link(gw):
    from shared.errors import Conflict

    admin = gw.as_("admin")
    gw.fake.answer(notification.SendStaffEmail, Conflict("SMTP down", code="email_not_sent"))
    user = invite(gw, admin)
    assert user["invitation_sent"] is False and user["status"] == "invited"
    first = link_of(gw, user["email"])
    gw.fake.answer(notification.SendStaffEmail, lambda call: {"message_id": "<m@t>"})
    assert gw.client.post(f"/v1/users/{user['id']}/invitation", headers=admin).status_code == 204
    second = link_of(gw, user["email"])
    assert second != first
    assert gw.client.get(first).status_code == 400  # replaced by the newer link
    assert gw.client.get(second).status_code == 200
    _, done = set_password(gw, second, GOOD_PASSWORD)
    assert done.status_code == 303
    again = gw.client.post(f"/v1/users/{user['id']}/invitation", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_invited"


def test_the_console_people_page_invites_and_deactivates_through_the_api(gw):
    _, key = gw.key("admin")
    signed_in = gw.client.post("/console/login", data={"csrf": login_csrf(gw), "api_key": key}, headers=ORIGIN)
    assert signed_in.status_code == 303
    page = gw.client.get("/console/users")
    assert page.status_code == 200 and 'for="invite_email"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    email = f"console-{secrets.token_hex(3)}@example.com"
    sent = gw.client.post("/console/users", data={"csrf": csrf, "email": email, "name": "Ivy Interviewer",
                                                  "role": "interviewer", "divisions": "retail", "locale": "zh-CN",
                                                  "timezone": "Asia/Shanghai"}, headers=ORIGIN)
    assert sent.status_code == 303
    listed = gw.client.get("/console/users").text
    assert f"Invitation sent to {email}" in listed and "Ivy Interviewer" in listed
    [call] = [c for c in gw.fake.calls_to(notification.SendStaffEmail) if c.kwargs["to"] == email]
    assert call.kwargs["locale"] == "zh-CN"
    bad = gw.client.post("/console/users", data={"csrf": csrf, "email": "b@example.com", "name": "B",
                                                 "role": "recruiter", "divisions": "retial"}, headers=ORIGIN)
    assert "Not done. divisions: no division retial" in gw.client.get(bad.headers["location"]).text
    row = next(r for r in listed.split("<tr>") if f"<td>{email}</td>" in r)
    user_id = re.search(r'/console/users/(usr_[A-Za-z0-9_]+)/deactivate', row).group(1)
    gw.client.post(f"/console/users/{user_id}/deactivate", data={"csrf": csrf}, headers=ORIGIN)
    assert gw.client.get(f"/v1/users/{user_id}", headers=gw.as_("admin")).json()["status"] == "deactivated"
