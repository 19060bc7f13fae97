"""The talent community's pages and API (gateway/routes/community.py) in process, with the services faked at
their typed seam (gateway/testing.py) on the session's real Redis and MongoDB: joining (form and JSON, bad
input answered 422 naming the field with nothing asked of talent_pool), the emailed link (a GET never
confirms), the member's portal and leaving."""

from __future__ import annotations

import re

import pytest

from gateway.routes.community import CAREERS
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.config import Rate
from shared.contracts import sourcing, talent_pool
from shared.tokens import portal_token

MEMBER = {"id": "mem_1", "status": "pending", "name": "Ana Lima", "skills": ["Python"], "divisions": ["retail"],
          "locale": "zh-CN", "requested_at": "2026-12-01T09:00:00Z", "confirmed_at": None, "left_at": None,
          "in_pool": False, "retain_until": None}
FORM = {"name": "Ana Lima", "email": "ana@example.org", "skills": "Python, SQL , ,python",
        "divisions": ["retail", "logistics"], "consent": "yes", "locale": "en", "website": ""}


@pytest.fixture(scope="module")
def gateway(data_infra):
    # Every form post opens the form first (its CSRF token): the per-address limit of these tests is generous.
    with namespace_of(data_infra, "community") as namespace, running(gateway_settings(
            data_infra, namespace, rate_limit_anonymous=Rate(1000, 10000))) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.connected = True
    gateway.fake.answer(talent_pool.JoinCommunity, {"status": "pending"})
    gateway.fake.answer(sourcing.ListDivisions, {"items": [
        {"id": "retail", "name": "Retail", "timezone": "UTC", "locale": "en", "careers_blurb": "",
         "colour": "#1f6f5c"}]})
    return gateway


def token(gw, kind="m", object_id="mem_1"):
    return portal_token(kind, object_id, gw.settings.portal_secret)


def joins(gw):
    return gw.fake.calls_to(talent_pool.JoinCommunity)


def form(gw, **change) -> dict:
    """The form's fields as a browser posts them: with the CSRF token of the page it got (its cookie kept)."""
    page = gw.client.get("/careers/community")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return {**FORM, "csrf": csrf, **change}


def test_the_form_page_lists_the_divisions_and_hides_the_honeypot(gw):
    page = gw.client.get("/careers/community?lang=zh-CN")
    assert page.status_code == 200 and "加入我们的人才社区" in page.text
    assert 'value="retail"' in page.text and 'name="website"' in page.text and "<div hidden" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_joining_by_form_asks_talent_pool_as_the_careers_site_then_says_check_your_email(gw):
    response = gw.client.post("/careers/community", data=form(gw))
    assert response.status_code == 303 and response.headers["location"] == "/careers/community/sent?lang=en"
    [call] = joins(gw)
    assert call.caller == CAREERS
    assert call.kwargs == {"name": "Ana Lima", "email": "ana@example.org", "skills": ["Python", "SQL"],
                           "divisions": ["logistics", "retail"], "consent": True, "locale": "en"}
    sent = gw.client.get(response.headers["location"])
    assert sent.status_code == 200 and "Check your email" in sent.text


def test_joining_by_json_answers_202_pending(gw):
    response = gw.client.post("/careers/community", json={"name": "Li", "email": "li@example.org",
                                                          "skills": "Go, Rust", "divisions": [], "consent": True})
    assert response.status_code == 202 and response.json() == {"status": "pending"}
    assert joins(gw)[0].kwargs["skills"] == ["Go", "Rust"]


@pytest.mark.parametrize("change,field", [
    ({"consent": ""}, "consent"),
    ({"email": "not-an-address"}, "email"),
    ({"name": ""}, "name"),
    ({"website": "http://spam.example"}, "website"),
    ({"divisions": ["no spaces allowed"]}, "divisions.0"),
])
def test_bad_input_is_422_naming_the_field_and_nothing_is_asked(gw, change, field):
    response = gw.client.post("/careers/community", data=form(gw, **change))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert joins(gw) == []


@pytest.mark.parametrize("csrf", [None, "forged", "other-cookie"])
def test_a_form_post_without_the_page_s_csrf_token_is_refused_and_nothing_is_asked(gw, csrf):
    fields = form(gw)
    if csrf is None:
        del fields["csrf"]
    elif csrf == "forged":
        fields["csrf"] = fields["csrf"][:-4] + "AAAA"
    else:
        gw.client.cookies.clear()
    response = gw.client.post("/careers/community", data=fields)
    assert response.status_code == 403 and response.json()["error"]["field"] == "csrf"
    assert joins(gw) == []
    cross_site = gw.client.post("/careers/community", data=form(gw), headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403 and joins(gw) == []


def test_a_json_body_without_consent_is_refused(gw):
    response = gw.client.post("/careers/community", json={"name": "Li", "email": "li@example.org"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "consent"
    assert joins(gw) == []


def test_the_emailed_link_shows_a_button_and_only_the_post_confirms(gw):
    gw.fake.answer(talent_pool.GetCommunityMember, MEMBER)
    gw.fake.answer(talent_pool.ConfirmCommunity, {**MEMBER, "status": "member", "in_pool": True,
                                                  "confirmed_at": "2026-12-01T09:05:00Z",
                                                  "retain_until": "2027-12-01T09:05:00Z"})
    link = f"/careers/community/confirm/{token(gw)}"
    page = gw.client.get(link)
    assert page.status_code == 200 and "确认加入" in page.text  # the member's language
    assert f'action="{link}"' in page.text and 'method="post"' in page.text
    assert gw.fake.calls_to(talent_pool.ConfirmCommunity) == []  # a scanner's GET confirms nothing
    done = gw.client.post(link)
    assert done.status_code == 200 and "您已加入我们的人才社区" in done.text
    [call] = gw.fake.calls_to(talent_pool.ConfirmCommunity)
    assert call.kwargs == {"signup_id": "mem_1"} and call.caller == CAREERS
    assert f"/portal/{token(gw)}/leave" in done.text


def test_a_stale_link_confirms_nothing_and_says_so(gw):
    gw.fake.answer(talent_pool.ConfirmCommunity, {**MEMBER, "locale": "en"})  # still pending: too old
    done = gw.client.post(f"/careers/community/confirm/{token(gw)}")
    assert done.status_code == 410 and "expired" in done.text


@pytest.mark.parametrize("bad", ["not-a-token", "app"])
def test_a_link_that_is_not_a_member_s_is_404(gw, bad):
    link = token(gw, "a", "app_1") if bad == "app" else bad
    assert gw.client.post(f"/careers/community/confirm/{link}").status_code == 404
    assert gw.client.post(f"/portal/{link}/leave").status_code == 404
    assert gw.fake.calls_to(talent_pool.ConfirmCommunity) == gw.fake.calls_to(talent_pool.LeaveCommunity) == []


def test_the_member_portal_shows_the_membership_and_leaving_takes_them_out(gw):
    member = {**MEMBER, "status": "member", "locale": "en", "in_pool": True, "retain_until": "2027-12-01T09:05:00Z"}
    gw.fake.answer(talent_pool.GetCommunityMember, member)
    gw.fake.answer(talent_pool.LeaveCommunity, {**member, "status": "left", "name": "", "skills": [],
                                                "divisions": [], "in_pool": False, "retain_until": None})
    page = gw.client.get(f"/portal/{token(gw)}")
    assert page.status_code == 200 and "You are in our talent community" in page.text and "Python" in page.text
    assert gw.client.get(f"/portal/{token(gw)}", headers={"Accept": "application/json"}).json()["kind"] == "member"
    left = gw.client.post(f"/portal/{token(gw)}/leave", headers={"Accept": "application/json"})
    assert left.status_code == 200 and left.json()["status"] == "left" and left.json()["in_pool"] is False
    [call] = gw.fake.calls_to(talent_pool.LeaveCommunity)
    assert call.kwargs == {"signup_id": "mem_1"}
    # the portal's consent withdrawal, for a member's link, is leaving too
    assert gw.client.post(f"/portal/{token(gw)}/consent", json={"talent_pool": False}).status_code == 200
    assert len(gw.fake.calls_to(talent_pool.LeaveCommunity)) == 2
