"""The console's account pages (issue 20, docs/decisions/008-users.md): signing in with email and password (and
a second factor when the user has one), single sign-on, setting a password from an invitation or reset link,
asking for a reset, and enrolling a TOTP second factor.

The pages a person reaches before signing in carry the sign-in form's CSRF token (a cookie and a hidden
field that must match, as /console/login does). Every refusal to sign in reads the same whatever the cause.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from gateway import passwords
from gateway.console.api import ApiError
from gateway.console.session import COOKIE, LOGIN_COOKIE, SESSION_SECONDS, csrf_ok, same_origin
from gateway.console.sso import SingleSignOn, SsoRefused, configured
from gateway.console_text import LANGUAGE_NAMES, LOCALES, words
from gateway.ratelimit import parse_proxies, scope_address
from gateway.routes.users import send_link
from gateway.signin import Locked, SignInRefused, check_password, code_ok, needs_code, session_key
from gateway.users import ACTIVE, DEACTIVATED, INVITATION, RESET, TokenRefused, otpauth_uri
from shared.interview_time import valid_timezone

if TYPE_CHECKING:
    from gateway.console import Console, Page

REFUSED = "That email and password do not match an active account."
PENDING_SECONDS = 300  # between a right password and its second-factor code
LINK_STATUS = {"expired": 410, "used": 400, "unknown": 404}
LINK_TEXT = {
    "expired": "This link has expired. Ask your administrator for a new invitation, or request a new password "
               "reset link.",
    "used": "This link has already been used (or replaced by a newer one). Sign in with your password, or "
            "request a new password reset link.",
    "unknown": "This link is not valid. Check that you copied the whole address from the email.",
}


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _value(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _next_path(value: str) -> str:
    return value if value.startswith("/console/") and not value.startswith("//") else ""


class Accounts:
    def __init__(self, console: Console):
        self.console = console
        self._sso: SingleSignOn | None = None

    @property
    def gateway(self):
        return self.console.gateway

    @property
    def sso(self) -> SingleSignOn | None:
        settings = self.gateway.settings
        if self._sso is None and configured(settings):
            self._sso = SingleSignOn(settings, self.gateway.redis)
        return self._sso

    def address(self, request: Request) -> str:
        return scope_address(request.scope, parse_proxies(self.gateway.settings.trusted_proxies))

    def _pending_key(self, token: str) -> str:
        return self.gateway.settings.redis_key("console", "signin", "pending",
                                               hashlib.sha256(token.encode()).hexdigest())

    # -- sign-in ---------------------------------------------------------------------------------------
    async def start_session(self, request: Request, user: dict, next_path: str) -> Response:
        """A console session holding a new key of the user's (gateway/signin.py)."""
        key = await session_key(self.gateway.keys, user)
        divisions = ["*"] if user["role"] == "admin" else list(user.get("divisions", []))
        session_id = await self.console.sessions.create(key["key"], user["name"], user["role"], divisions,
                                                        user_id=user["_id"])
        home = "/console/interviews" if user["role"] == "interviewer" else "/console/requisitions"
        response = RedirectResponse(_next_path(next_path) or home, status_code=303)
        response.set_cookie(COOKIE, session_id, max_age=SESSION_SECONDS, **self.console._cookie(request))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    async def password_login(self, request: Request, form: dict[str, list[str]]) -> Response:
        email, password = _value(form, "email").strip(), _value(form, "password")
        address, throttle = self.address(request), self.gateway.throttle
        try:
            await throttle.check(email, address)
        except Locked as locked:
            return await self.console.login_page(
                request, f"Too many failed attempts. Try again in {locked.retry_after} seconds.", 429,
                headers={"Retry-After": str(locked.retry_after)}, email=email)
        try:
            user = await check_password(self.gateway.users, email, password)
        except SignInRefused:
            await throttle.failed(email, address)
            return await self.console.login_page(request, REFUSED, 401, email=email)
        if needs_code(user):
            pending = secrets.token_urlsafe(32)
            await self.gateway.redis.set(self._pending_key(pending), json.dumps({
                "user_id": user["_id"], "email": email, "next": _value(form, "next")}), ex=PENDING_SECONDS)
            return self.code_page(request, pending)
        await throttle.succeeded(email)
        return await self.start_session(request, user, _value(form, "next"))

    def code_page(self, request: Request, pending: str, error: str | None = None, status: int = 200) -> Response:
        return self.console.html("login_code.html", status, session=None, flash=None, path="/console/login",
                                 csrf=request.cookies.get(LOGIN_COOKIE, ""), pending=pending, error=error)

    async def code_login(self, request: Request) -> Response:
        form = _form(await request.body())
        if not same_origin(request) or not csrf_ok(request.cookies.get(LOGIN_COOKIE), _value(form, "csrf")):
            return await self.console.login_page(request, "The sign-in form expired. Please try again.", 403)
        pending = _value(form, "pending")
        raw = await self.gateway.redis.get(self._pending_key(pending)) if 0 < len(pending) <= 100 else None
        if raw is None:
            return await self.console.login_page(request, "That took too long. Please sign in again.", 401)
        waiting = json.loads(raw)
        address, throttle = self.address(request), self.gateway.throttle
        try:
            await throttle.check(waiting["email"], address)
        except Locked as locked:
            await self.gateway.redis.delete(self._pending_key(pending))
            return await self.console.login_page(
                request, f"Too many failed attempts. Try again in {locked.retry_after} seconds.", 429,
                headers={"Retry-After": str(locked.retry_after)})
        user = await self.gateway.users.get(waiting["user_id"])
        code = _value(form, "code").replace(" ", "")
        # A code is good once: the same code sent again within its 90 s is refused as a wrong one.
        fresh = user is not None and code_ok(user, code) and await self.gateway.redis.set(
            self.gateway.settings.redis_key("console", "signin", "code-used", user["_id"], code), "1",
            nx=True, ex=90)
        if user is None or user["status"] != ACTIVE or not fresh:
            await throttle.failed(waiting["email"], address)
            return self.code_page(request, pending, "That code is not right. Enter the current code from your "
                                                     "authenticator app.", 401)
        await self.gateway.redis.delete(self._pending_key(pending))
        await throttle.succeeded(waiting["email"])
        return await self.start_session(request, user, waiting.get("next", ""))

    # -- links: invitation and password reset ------------------------------------------------------------
    def link_page(self, request: Request, purpose: str, token: str, user: dict | None, *, error: str | None = None,
                  status: int = 200, refused: str | None = None) -> Response:
        csrf = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = self.console.html(
            "set_password.html", LINK_STATUS.get(refused or "", status), session=None, flash=None,
            path=request.url.path, csrf=csrf, purpose=purpose, token=token, user=user, error=error,
            refused=LINK_TEXT.get(refused or ""), min_length=passwords.MIN_LENGTH)
        response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **self.console._cookie(request))
        return response

    async def show_link(self, request: Request, purpose: str, token: str) -> Response:
        try:
            user = await self.gateway.users.check_token(token, purpose)
        except TokenRefused as exc:
            return self.link_page(request, purpose, token, None, refused=exc.reason)
        return self.link_page(request, purpose, token, user)

    async def use_link(self, request: Request, purpose: str, token: str) -> Response:
        form = _form(await request.body())
        users = self.gateway.users
        try:
            user = await users.check_token(token, purpose)
        except TokenRefused as exc:
            return self.link_page(request, purpose, token, None, refused=exc.reason)
        if not same_origin(request) or not csrf_ok(request.cookies.get(LOGIN_COOKIE), _value(form, "csrf")):
            return self.link_page(request, purpose, token, user, status=403,
                                  error="The form expired. Please try again.")
        password = _value(form, "password")
        if _value(form, "password_again") and _value(form, "password_again") != password:
            return self.link_page(request, purpose, token, user, status=422,
                                  error="password: the two passwords differ")
        weak = passwords.weakness(password, email=user["email"], name=user["name"])
        if weak:  # nothing changes: the link still works for a better password
            return self.link_page(request, purpose, token, user, status=422, error=f"password: {weak}")
        try:
            user = await users.set_password_with(token, purpose, passwords.hash_password(password))
        except TokenRefused as exc:
            return self.link_page(request, purpose, token, None, refused=exc.reason)
        if purpose == RESET:  # sessions from before the reset end; API keys stay (they are not the password)
            await self.gateway.keys.revoke_user(user["_id"], sessions_only=True)
        await self.gateway.throttle.succeeded(user["email"])
        return RedirectResponse("/console/login?password_set=1", status_code=303)

    async def reset_page(self, request: Request, sent: bool = False, status: int = 200,
                         error: str | None = None) -> Response:
        csrf = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = self.console.html("password_reset.html", status, session=None, flash=None, path=request.url.path,
                                     csrf=csrf, sent=sent, error=error)
        response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **self.console._cookie(request))
        return response

    async def request_reset(self, request: Request) -> Response:
        form = _form(await request.body())
        if not same_origin(request) or not csrf_ok(request.cookies.get(LOGIN_COOKIE), _value(form, "csrf")):
            return await self.reset_page(request, status=403, error="The form expired. Please try again.")
        user = await self.gateway.users.by_email(_value(form, "email"))
        if user is not None and user["status"] == ACTIVE:
            await send_link(self.console.app.state.services, request, user, RESET)
        return await self.reset_page(request, sent=True)  # the same answer whether or not the email is known

    # -- single sign-on ------------------------------------------------------------------------------------
    async def sso_start(self, request: Request) -> Response:
        if self.sso is None:
            return await self.console.login_page(request, "Single sign-on is not configured.", 404)
        return await self.sso.start(request, _next_path(request.query_params.get("next", "")),
                                    self.console._cookie(request))

    async def sso_finish(self, request: Request) -> Response:
        if self.sso is None:
            return await self.console.login_page(request, "Single sign-on is not configured.", 404)
        refused = "Single sign-on did not find an active account for you. Ask your administrator to invite you."
        try:
            claims, next_path = await self.sso.finish(request)
        except SsoRefused:
            return await self.console.login_page(request, "Single sign-on failed. Please try again.", 401)
        email = claims.get("email")
        user = await self.gateway.users.by_email(email) if isinstance(email, str) and email else None
        if claims.get("email_verified") is not True or user is None or user["status"] == DEACTIVATED:
            return await self.console.login_page(request, refused, 403)
        await self.gateway.users.activate(user["_id"])
        user = await self.gateway.users.get(user["_id"])
        return await self.start_session(request, user, next_path)

    # -- the signed-in user's own account (second factor) --------------------------------------------------
    async def account(self, request: Request) -> Response:
        async def build(page: Page):
            user = await self._own(page)
            pending = self.gateway.users.pending_totp(user) if user else None
            return await self.console.render(page, "account.html", user=user, pending=pending, languages=LANGUAGE_NAMES,
                                             uri=otpauth_uri(pending, user["email"]) if pending else None)
        return await self.console.show(request, build)

    async def _own(self, page: Page) -> dict | None:
        return await self.gateway.users.get(page.session.user_id) if page.session.user_id else None

    async def set_preferences(self, request: Request) -> Response:
        """The user's own language and time zone: both checked before either is stored."""
        async def do(page: Page):
            user = await self._own(page)
            if user is None:
                return "Sign in with your email and password to change your account.", None
            locale, zone = page.value("locale"), page.value("timezone") or "UTC"
            if locale not in LOCALES:
                raise ApiError(422, "validation_error", f"locale: one of {', '.join(LOCALES)}", "locale")
            if not valid_timezone(zone):
                raise ApiError(422, "validation_error", "timezone: an IANA time zone such as Asia/Shanghai",
                               "timezone")
            await self.gateway.users.set_preferences(user["_id"], locale, zone)
            return words(locale)["preferences_saved"], None
        return await self.console.act(request, "/console/account", do)

    async def totp_start(self, request: Request) -> Response:
        async def do(page: Page):
            user = await self._own(page)
            if user is None:
                return "Sign in with your email and password to add a second factor.", None
            await self.gateway.users.start_totp(user["_id"])
            return "Add the key below to your authenticator app, then enter the code it shows.", None
        return await self.console.act(request, "/console/account", do)

    async def totp_confirm(self, request: Request) -> Response:
        async def do(page: Page):
            user = await self._own(page)
            secret = self.gateway.users.pending_totp(user) if user else None
            if user is None or secret is None:
                raise ApiError(409, "no_enrolment", "Start adding a second factor first.")
            if not code_ok({"totp_secret": user["totp_pending"]}, page.value("code")):
                raise ApiError(422, "validation_error", "code: that code is not right; try the current one",
                               "code")
            await self.gateway.users.confirm_totp(user["_id"], secret)
            return "Second factor on: signing in now asks for a code from your app.", None
        return await self.console.act(request, "/console/account", do)


ROLES = ["recruiter", "interviewer", "hr", "admin"]


def install(app: FastAPI, console: Console) -> Accounts:  # noqa: C901 - one place lists the account pages
    accounts = Accounts(console)

    # -- people: invite and deactivate (through /v1/users, as an API client would) --------------------------
    @app.get("/console/users", include_in_schema=False)
    async def users(request: Request):
        async def build(page: Page):
            listing = await page.api.get("/v1/users", cursor=request.query_params.get("cursor"))
            return await console.render(page, "users.html", listing=listing, roles=ROLES)
        return await console.show(request, build)

    @app.post("/console/users", include_in_schema=False)
    async def invite(request: Request):
        async def do(page: Page):
            divisions = [d.strip() for d in page.value("divisions").replace("\n", ",").split(",") if d.strip()]
            body = {"email": page.value("email"), "name": page.value("name"), "role": page.value("role"),
                    "divisions": divisions, "locale": page.value("locale", "en"),
                    "timezone": page.value("timezone") or "UTC"}
            created = await page.api.post("/v1/users", body, idempotency_key=page.value("nonce") or None)
            if not created.get("invitation_sent", True):
                return f"{created['email']} added, but the invitation email could not be sent: invite again.", None
            return f"Invitation sent to {created['email']}.", None
        return await console.act(request, "/console/users", do)

    @app.post("/console/users/{user_id}/deactivate", include_in_schema=False)
    async def deactivate(request: Request, user_id: str):
        async def do(page: Page):
            await page.api.delete(f"/v1/users/{quote(user_id, safe='')}")
            return "Deactivated: their sessions and API keys no longer work.", None
        return await console.act(request, "/console/users", do)

    @app.post("/console/users/{user_id}/invitation", include_in_schema=False)
    async def invite_again(request: Request, user_id: str):
        async def do(page: Page):
            await page.api.post(f"/v1/users/{quote(user_id, safe='')}/invitation")
            return "A new invitation link is on its way.", None
        return await console.act(request, "/console/users", do)

    @app.post("/console/login/code", include_in_schema=False)
    async def login_code(request: Request):
        return await accounts.code_login(request)

    @app.get("/console/login/oidc", include_in_schema=False)
    async def sso_start(request: Request):
        return await accounts.sso_start(request)

    @app.get("/console/login/oidc/callback", include_in_schema=False)
    async def sso_finish(request: Request):
        return await accounts.sso_finish(request)

    @app.get("/console/invitations/{token}", include_in_schema=False)
    async def invitation(request: Request, token: str):
        return await accounts.show_link(request, INVITATION, token)

    @app.post("/console/invitations/{token}", include_in_schema=False)
    async def accept_invitation(request: Request, token: str):
        return await accounts.use_link(request, INVITATION, token)

    @app.get("/console/password-reset", include_in_schema=False)
    async def reset_form(request: Request):
        return await accounts.reset_page(request)

    @app.post("/console/password-reset", include_in_schema=False)
    async def reset_request(request: Request):
        return await accounts.request_reset(request)

    @app.get("/console/password-reset/{token}", include_in_schema=False)
    async def reset_link(request: Request, token: str):
        return await accounts.show_link(request, RESET, token)

    @app.post("/console/password-reset/{token}", include_in_schema=False)
    async def reset_use(request: Request, token: str):
        return await accounts.use_link(request, RESET, token)

    @app.get("/console/account", include_in_schema=False)
    async def account(request: Request):
        return await accounts.account(request)

    @app.post("/console/account/preferences", include_in_schema=False)
    async def set_preferences(request: Request):
        return await accounts.set_preferences(request)

    @app.post("/console/account/totp", include_in_schema=False)
    async def totp_start(request: Request):
        return await accounts.totp_start(request)

    @app.post("/console/account/totp/confirm", include_in_schema=False)
    async def totp_confirm(request: Request):
        return await accounts.totp_confirm(request)

    return accounts

