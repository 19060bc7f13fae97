"""The web console at /console: HR, recruiters and interviewers work the hiring loop in a browser.

Pages are rendered on the server from what the /v1 API answers to the signed-in key (gateway/console/api.py),
so the console can show and do exactly what that key may through the API, no more. Forms post back here,
carry a CSRF token, and redirect (post/redirect/get) with a one-line result. The pipeline board refreshes
itself from server-sent events (gateway/console/live.py).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gateway.console import accounts, views
from gateway.console.api import ApiError, Caller, ConsoleApi, SignedOut
from gateway.console.live import BoardFeed
from gateway.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_SECONDS,
    Session,
    Sessions,
    cookie_options,
    csrf_ok,
    same_origin,
)
from gateway.console.sso import configured as sso_configured
from gateway.console_text import choose_locale, words
from gateway.templating import SECURITY_HEADERS, TEMPLATES
from shared.errors import DomainError
from shared.interview_time import valid_timezone

KEEPALIVE_SECONDS = 15
# An open board stream checks this often that its session is still signed in and its key still works, and
# ends when not (a revoked key's stream ends within this, on every replica: the check reads the KeyStore's
# generation counter, one Redis GET, and the database only after a key changed).
RECHECK_SECONDS = 2.0


class _Answered(Exception):  # noqa: N818 - not an error: carries form_page's page out of act
    def __init__(self, response: Response):
        self.response = response


@dataclass
class Page:
    """One console request: who is signed in and their way to the API."""

    request: Request
    session: Session
    api: Caller
    form: dict[str, list[str]] | None = None

    def value(self, name: str, default: str = "") -> str:
        values = (self.form or {}).get(name) or [default]
        return values[0].strip()

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in (self.form or {}).get(name, []) if v.strip()]


class Console:
    def __init__(self, app: FastAPI):
        self.app = app
        self._api: ConsoleApi | None = None
        self._feed: BoardFeed | None = None
        self._sessions: Sessions | None = None
        self.accounts: accounts.Accounts | None = None  # the account pages (install)

    @property
    def gateway(self):
        return self.app.state.gateway

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:  # the gateway's Redis exists only once the app has started
            self._sessions = Sessions(self.gateway.redis, self.gateway.settings.redis_key())
        return self._sessions

    @property
    def api(self) -> ConsoleApi:
        if self._api is None:
            self._api = ConsoleApi(self.app)
        return self._api

    @property
    def feed(self) -> BoardFeed:
        if self._feed is None:
            # the seam to the bus (gateway/rpc.py), and the keys its events are verified with
            self._feed = BoardFeed(self.app.state.services, self.app.state.settings)
        return self._feed

    # -- rendering -----------------------------------------------------------------------------------
    @staticmethod
    def html(template: str, status: int = 200, lang: str = "en", **context: Any) -> HTMLResponse:
        """A console page in `lang` (console_text); its times in `viewer_zone` if given, else UTC."""
        body = TEMPLATES.get_template(f"console/{template}").render(lang=lang, t=words(lang), **context)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    async def render(self, page: Page, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        flash = await self.sessions.pop_flash(page.session)
        lang, zone = await self.preferences(page.request, page.session)
        return self.html(template, status, lang=lang, viewer_zone=zone, session=page.session, flash=flash,
                         path=page.request.url.path, **context)

    async def preferences(self, request: Request, session: Session | None) -> tuple[str, str]:
        """The language and time zone a page is shown in: the signed-in user's account's (read per page, so a
        change on /console/account shows at once); a key session's language is the browser's, its zone UTC."""
        user = await self.gateway.users.get(session.user_id) if session and session.user_id else None
        lang = choose_locale((user or {}).get("locale"), request.query_params.get("lang"),
                             request.headers.get("accept-language"))
        zone = (user or {}).get("timezone") or "UTC"
        return lang, zone if valid_timezone(zone) else "UTC"

    # -- the two shapes of a console request ----------------------------------------------------------
    async def _page(self, request: Request) -> Page | Response:
        session = await self.sessions.load(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
        return Page(request, session, Caller(self.api, session.key, getattr(request.state, "request_id", None)))

    async def show(self, request: Request, build: Callable[[Page], Awaitable[Response]]) -> Response:
        """A page: signed in, or off to the sign-in page; an API refusal is shown, not raised."""
        page = await self._page(request)
        if isinstance(page, Response):
            return page
        try:
            return await build(page)
        except SignedOut:
            return await self._signed_out(page)
        except ApiError as exc:
            return await self.render(page, "error.html", status=exc.status, error=exc)

    async def act(self, request: Request, back: str,
                  do: Callable[[Page], Awaitable[tuple[str, str | None]]]) -> Response:
        """A form post: CSRF-checked, then `do` returns (what happened, where to go; None: back)."""
        page = await self._page(request)
        if isinstance(page, Response):
            return page
        page.form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        if not same_origin(request) or not csrf_ok(page.session.csrf, page.value("csrf")):
            return self.html("error.html", 403, session=page.session, flash=None, path=request.url.path,
                             error=ApiError(403, "csrf", "This form expired or came from another site. "
                                                         "Go back, reload the page and try again."))
        try:
            message, target = await do(page)
            await self.sessions.set_flash(page.session, {"kind": "ok", "text": message})
        except SignedOut:
            return await self._signed_out(page)
        except (ApiError, DomainError) as exc:
            field = getattr(exc, "field", None)
            text = str(exc) if not field or field in str(exc) else f"{field}: {exc}"
            await self.sessions.set_flash(page.session, {"kind": "error", "text": f"Not done. {text}"})
            target = None
        return RedirectResponse(target or back, status_code=303)

    async def form_page(self, request: Request, back: str, build: Callable[[Page], Awaitable[Response]]) -> Response:
        """A form post answered with a page (a confirmation step), CSRF-checked as `act`; a refusal goes back
        to `back` with the reason, as `act` does."""
        async def do(page: Page):
            raise _Answered(await build(page))
        try:
            return await self.act(request, back, do)
        except _Answered as answered:
            return answered.response

    def _cookie(self, request: Request) -> dict:
        return cookie_options(request, self.gateway.settings.public_url)

    async def _signed_out(self, page: Page) -> Response:
        await self.sessions.delete(page.session)
        response = RedirectResponse("/console/login?expired=1", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- sign-in -------------------------------------------------------------------------------------
    async def login_page(self, request: Request, error: str | None = None, status: int = 200,
                         headers: dict[str, str] | None = None, email: str = "") -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        nxt = request.query_params.get("next", "")
        lang, _ = await self.preferences(request, None)
        response = self.html("login.html", status, lang=lang, session=None, flash=None, path="/console/login",
                             csrf=token, next=nxt if nxt.startswith("/console") else "", error=error,
                             expired=request.query_params.get("expired"), email=email,
                             password_set=request.query_params.get("password_set"),
                             sso=sso_configured(self.gateway.settings))
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, **self._cookie(request))
        response.headers.update(headers or {})
        return response

    async def login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        sent = (form.get("csrf") or [""])[0]
        if not same_origin(request) or not csrf_ok(request.cookies.get(LOGIN_COOKIE), sent):
            return await self.login_page(request, "The sign-in form expired. Please try again.", 403)
        key = (form.get("api_key") or [""])[0].strip()
        if not key:  # a person: email and password (gateway/console/accounts.py)
            return await self.accounts.password_login(request, form)
        try:
            caller = await self.gateway.keys.authenticate(key) if key else None
        except DomainError:
            caller = None
        if caller is None:
            return await self.login_page(request, "That API key is not valid (unknown, revoked or expired).", 401)
        session_id = await self.sessions.create(key, caller.name, caller.role, list(caller.divisions))
        nxt = (form.get("next") or [""])[0]
        home = "/console/interviews" if caller.role == "interviewer" else "/console/requisitions"
        response = RedirectResponse(nxt if nxt.startswith("/console/") else home, status_code=303)
        response.set_cookie(COOKIE, session_id, max_age=SESSION_SECONDS, **self._cookie(request))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    async def logout(self, request: Request) -> Response:
        async def do(page: Page):
            await self.sessions.delete(page.session)
            return "Signed out.", "/console/login"
        response = await self.act(request, "/console/login", do)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- live board ----------------------------------------------------------------------------------
    async def stream(self, request: Request, requisition_id: str) -> Response:
        page = await self._page(request)
        if isinstance(page, Response):
            return Response(status_code=401)
        try:
            await page.api.get(f"/v1/requisitions/{quote(requisition_id)}")  # scope: 404 for others' boards
        except ApiError as exc:
            return Response(status_code=exc.status)
        queue = await self.feed.watch(requisition_id)

        session = page.session

        async def still_signed_in() -> bool:
            try:
                return await self.sessions.exists(session) and await self.gateway.keys.is_active(session.key)
            except Exception:  # noqa: BLE001 - cannot tell (Redis down): end it; the page reconnects and is checked
                return False

        async def events():
            loop = asyncio.get_running_loop()
            quiet_since = checked = loop.time()
            try:
                yield "retry: 3000\nevent: ready\ndata: {}\n\n"
                while True:
                    try:
                        change = await asyncio.wait_for(queue.get(), RECHECK_SECONDS)
                    except TimeoutError:
                        change = None
                    now = loop.time()
                    # Every 2 s, and before each change is sent: nothing goes out once the key is revoked.
                    if now - checked >= RECHECK_SECONDS or change is not None:
                        checked = now
                        if not await still_signed_in():
                            # The page's script goes to the sign-in page; a reconnect would get 401.
                            yield "event: signed-out\ndata: {}\n\n"
                            return
                    if change is not None:
                        quiet_since = now
                        yield f"event: application\ndata: {json.dumps(change)}\n\n"
                    elif now - quiet_since >= KEEPALIVE_SECONDS:
                        quiet_since = now
                        yield ": keep-alive\n\n"
            finally:
                self.feed.unwatch(requisition_id, queue)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def is_console_path(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


def error_page(request: Request, status: int) -> HTMLResponse:
    """What the console shows for a page it does not have (404) or a method a page does not take (405):
    HTML in the console's look, with no session look-up (the address alone decides)."""
    message = ("There is no such page in the console." if status == 404
               else "This page cannot be opened that way." if status == 405 else "This request cannot be answered.")
    return Console.html("error.html", status, session=None, flash=None, path=request.url.path,
                        error=ApiError(status, "not_found" if status == 404 else "error", message))


def install(app: FastAPI) -> None:
    console = Console(app)
    app.state.console = console
    views.install(app, console)
    console.accounts = accounts.install(app, console)

    @app.get("/", include_in_schema=False)
    async def root():
        return RedirectResponse("/console", status_code=307)

    @app.get("/console", include_in_schema=False)
    async def console_home(request: Request):
        session = await console.sessions.load(request)
        if session is None:
            return RedirectResponse("/console/login", status_code=303)
        return RedirectResponse("/console/interviews" if session.role == "interviewer" else "/console/requisitions",
                                status_code=303)

    @app.get("/console/login", include_in_schema=False)
    async def login_page(request: Request):
        return await console.login_page(request)

    @app.post("/console/login", include_in_schema=False)
    async def login(request: Request):
        return await console.login(request)

    @app.post("/console/logout", include_in_schema=False)
    async def logout(request: Request):
        return await console.logout(request)

    @app.get("/console/requisitions/{requisition_id}/stream", include_in_schema=False)
    async def board_stream(request: Request, requisition_id: str):
        return await console.stream(request, requisition_id)


async def close(app: FastAPI) -> None:
    console = getattr(app.state, "console", None)
    if console is not None and console._api is not None:
        await console._api.close()
