"""Single sign-on against a real local OpenID Connect provider (oidc-provider-mock, in a thread on a free
port): discovery, the authorization code flow with state and nonce, the signed ID token, then a console
session for the active user whose verified email the provider vouches for, and nobody else."""

from __future__ import annotations

import functools
import secrets

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread

from gateway.console.session import COOKIE
from gateway.console.sso import FLOW_COOKIE
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import sourcing
from shared.timeutil import utcnow


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def gateway(data_infra, provider):
    with namespace_of(data_infra, "sso") as namespace:
        settings = gateway_settings(data_infra, namespace, rate_limit_anonymous=None, oidc_metadata_url=provider,
                                    oidc_client_id="hireloop-console", oidc_client_secret="s3cret")
        with running(settings) as gw:
            yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    gateway.client.cookies.clear()
    return gateway


def user(gw, status: str = "active", role: str = "interviewer") -> dict:
    doc = gw.call(functools.partial(gw.app.state.gateway.users.create, email=f"sso-{secrets.token_hex(4)}@example.com",
                                    name="Sam Singh", role=role, divisions=["retail"], locale="en", timezone="UTC",
                                    created_by="test"))
    if status != "invited":
        gw.call(gw.app.state.gateway.users.users.update_one, {"_id": doc["_id"]},
                {"$set": {"status": status, "deactivated_at": utcnow() if status == "deactivated" else None}})
    return doc


def through_provider(gw, provider: str, claims: dict, next_path: str = "") -> httpx.Response:
    """The person starts single sign-on, is known to the provider with `claims`, approves, and comes back:
    the gateway's answer to the callback."""
    sub = f"sub-{secrets.token_hex(4)}"
    assert httpx.put(f"{provider}/users/{sub}", json=claims).status_code == 204
    start = gw.client.get("/console/login/oidc" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302 and start.headers["location"].startswith(f"{provider}/oauth2/authorize?")
    assert gw.client.cookies.get(FLOW_COOKIE)
    approved = httpx.post(start.headers["location"], data={"sub": sub}, follow_redirects=False)
    back = approved.headers["location"]
    assert back.startswith(gw.settings.public_url + "/console/login/oidc/callback?")
    return gw.client.get(back[len(gw.settings.public_url):])


def test_the_login_page_offers_single_sign_on_when_configured(gw):
    assert 'href="/console/login/oidc"' in gw.client.get("/console/login").text


def test_an_active_user_with_a_verified_email_signs_in(gw, provider):
    person = user(gw)
    done = through_provider(gw, provider, {"email": person["email"].upper(), "email_verified": True},
                            next_path="/console/interviews")
    assert done.status_code == 303 and done.headers["location"] == "/console/interviews"
    assert gw.client.cookies.get(COOKIE)
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    assert gw.client.get("/console/account").status_code == 200


def test_an_invited_user_is_activated_by_single_sign_on(gw, provider):
    person = user(gw, status="invited")
    done = through_provider(gw, provider, {"email": person["email"], "email_verified": True})
    assert done.status_code == 303
    assert gw.call(gw.app.state.gateway.users.get, person["_id"])["status"] == "active"


@pytest.mark.parametrize("case", ["unverified", "unknown", "deactivated"])
def test_nobody_else_signs_in(gw, provider, case):
    person = user(gw, status="deactivated" if case == "deactivated" else "active")
    claims = {"email": person["email"] if case != "unknown" else "stranger@example.com",
              "email_verified": case != "unverified"}
    refused = through_provider(gw, provider, claims)
    assert refused.status_code == 403 and not gw.client.cookies.get(COOKIE)
    assert "did not find an active account" in refused.text


def test_a_callback_not_started_in_this_browser_or_replayed_signs_nobody_in(gw, provider):
    person = user(gw)
    sub = f"sub-{secrets.token_hex(4)}"
    httpx.put(f"{provider}/users/{sub}", json={"email": person["email"], "email_verified": True})
    start = gw.client.get("/console/login/oidc")
    back = httpx.post(start.headers["location"], data={"sub": sub}, follow_redirects=False).headers["location"]
    path = back[len(gw.settings.public_url):]
    flow = gw.client.cookies.get(FLOW_COOKIE)
    gw.client.cookies.clear()
    assert gw.client.get(path).status_code == 401  # no flow cookie: another browser
    gw.client.cookies.set(FLOW_COOKIE, flow, path="/console/login")
    assert gw.client.get(path).status_code == 303  # the browser that started it
    gw.client.cookies.set(FLOW_COOKIE, flow, path="/console/login")
    assert gw.client.get(path).status_code == 401  # once only


def test_without_settings_single_sign_on_is_off(data_infra):
    with namespace_of(data_infra, "nosso") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        assert "/console/login/oidc" not in gw.client.get("/console/login").text
        assert gw.client.get("/console/login/oidc").status_code == 404
