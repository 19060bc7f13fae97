"""The hireloop gateway: api-v1 over HTTP, commands and queries forwarded to services by RPC.

The gateway authenticates API keys, rate-limits them (gateway/ratelimit.py), checks the route's roles,
validates bodies against the shared contracts, and hands services a signed caller context; services
enforce object-level (division) scope themselves. Every RPC is bounded: a slow or absent service is a
503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Annotated, Any, Literal

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pymongo import AsyncMongoClient
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import console, docs, limits, metrics, openapi, portal, telemetry
from gateway.audit import AuditLog, Read, division_of, personal_fields
from gateway.idempotency import forget, idempotent
from gateway.keys import KeyStore
from gateway.ratelimit import AnonymousRateLimit, RateLimited, RateLimiter, parse_proxies
from gateway.templating import STATIC_DIR
from shared import tracing
from shared.bus.aio_rpc import AsyncRpcClient, RemoteError, ServiceUnavailable
from shared.config import Settings, load
from shared.contracts import commands as cmd
from shared.contracts.caller import Caller
from shared.contracts.common import SERVICES
from shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from shared.timeutil import iso, utcnow

log = logging.getLogger("hireloop.gateway")
MAX_BODY_BYTES = 1_000_000
RETRY_AFTER_SECONDS = "5"

ADMIN, HR, RECRUITER, INTERVIEWER = "admin", "hr", "recruiter", "interviewer"
STAFF = (ADMIN, HR, RECRUITER)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    err = {"code": code, "message": message}
    if field:
        err["field"] = field
    return {"error": err}


class Gateway:
    """Connections the routes share; one per process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.rpc = AsyncRpcClient(settings.rabbit_url, name="gateway", timeout=settings.rpc_timeout,
                                  context_secret=settings.context_secret)
        self.mongo = AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000)
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.keys = KeyStore(self.mongo, settings.database_name("gateway"), self.redis,
                             settings.redis_key("keys", "generation"))
        self.audit = AuditLog(self.mongo, settings.database_name("gateway"))
        self.limiter = RateLimiter(self.redis, settings)

    async def start(self) -> None:
        await self.keys.setup()
        await self.audit.setup()
        generated = await self.keys.bootstrap_admin(_admin_key_from_env())
        if generated:
            print(f"hireloop: generated admin API key (shown once): {generated}", flush=True)
        await self.rpc.connect()

    async def stop(self) -> None:
        await self.rpc.close()
        await self.redis.aclose()
        await self.mongo.close()

    async def call(self, caller: Caller | None, service: str, method: str, request: Request | None = None,
                   **kwargs: Any) -> Any:
        context = {"correlation_id": getattr(getattr(request, "state", None), "request_id", None)}
        started = time.perf_counter()
        outcome = "ok"
        try:
            # The caller context is signed for this call only (service, method, arguments; shared/context.py).
            return await self.rpc.call(service, method, context=context, as_caller=caller, **kwargs)
        except DomainError:
            outcome = "domain_error"
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            metrics.observe_rpc(service, method, outcome, time.perf_counter() - started)


def _admin_key_from_env() -> str | None:
    import os

    return os.environ.get("HIRELOOP_ADMIN_KEY") or None


def gw(request: Request) -> Gateway:
    return request.app.state.gateway


async def authenticated(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    g = gw(request)
    caller = await g.keys.authenticate(authorization[7:].strip())
    request.state.caller = caller
    # After authentication, so unknown keys cannot create buckets, and before the route does anything:
    # a limited request is a 429 and nothing else (every /v1 route depends on this, via roles()).
    await g.limiter.check(caller)
    return caller


def roles(*allowed: str):
    async def check(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if caller.role not in allowed:
            raise Forbidden(f"role '{caller.role}' may not do this; allowed: {', '.join(allowed)}")
        return caller
    return check


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (max 500)")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]
DivisionQ = Annotated[str | None, Query(max_length=80)]
CandidateQ = Annotated[str, Query(min_length=1, max_length=100, description="the candidate whose records to list")]
StatusQ = Annotated[str | None, Query(max_length=40)]
FromQ = Annotated[str | None, Query(alias="from", max_length=40, description="ISO date: the period starts here")]
ToQ = Annotated[str | None, Query(alias="to", max_length=40, description="ISO date, after `from`: the period ends "
                                                                       "before it")]


@asynccontextmanager
async def lifespan(app: FastAPI):
    gateway = Gateway(app.state.settings)
    app.state.gateway = gateway
    await gateway.start()
    try:
        yield
    finally:
        await console.close(app)
        await gateway.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    tracing.setup_tracing("gateway")  # before the Mongo and Redis clients exist (instrumented at creation)
    app = FastAPI(
        title="hireloop gateway",
        version="1.0.0",
        description="The hiring loop's public API (api-v1). Auth: `Authorization: Bearer <api key>`.",
        lifespan=lifespan,
        telemetry=telemetry.telemetry_config(),
        docs_url=None, redoc_url=None,  # FastAPI's own load from a CDN: gateway/docs.py serves them offline
    )
    app.state.settings = settings or load()
    _install_error_handlers(app)
    _install_middleware(app)
    _install_routes(app)
    portal.install(app)
    console.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    limits.install(app, MAX_BODY_BYTES)
    openapi.install(app)
    docs.install(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError):
        return JSONResponse(status_code=exc.status, content={"error": exc.as_dict()})

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited):
        return JSONResponse(status_code=exc.status, content={"error": exc.as_dict()},
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        field, msg = _validation_problem(request, exc.errors()[0])
        return JSONResponse(status_code=422, content=error_body("validation_error", f"{field}: {msg}", field))

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(_: Request, exc: ServiceUnavailable):
        return JSONResponse(status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS},
                            content=error_body("service_unavailable", str(exc)))

    @app.exception_handler(RemoteError)
    async def remote_error(_: Request, exc: RemoteError):
        log.error("service error", extra={"service": exc.service, "exc_type": exc.exc_type})
        return JSONResponse(status_code=500, content=error_body("internal_error",
                                                                f"the {exc.service} service failed to answer"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if console.is_console_path(request.url.path):  # a person's browser: a page in the console's look
            return console.error_page(request, exc.status_code)
        if exc.status_code == 400:  # FastAPI could not read the body at all (not UTF-8, broken form data)
            return JSONResponse(status_code=422, content=error_body(
                "validation_error", "body: not a readable JSON document (send UTF-8 JSON)", "body"))
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "error")
        return JSONResponse(status_code=exc.status_code, content=error_body(code, str(exc.detail)),
                            headers=getattr(exc, "headers", None))


def _validation_problem(request: Request, error: dict) -> tuple[str, str]:
    """The field at fault (a dotted path; `body` for the body as a whole) and what is wrong with it."""
    loc = [str(p) for p in error.get("loc", ())]
    kind = error.get("type")
    if kind == "json_invalid":  # loc is ("body", <character position>): the body as a whole is at fault
        return "body", f"not valid JSON ({(error.get('ctx') or {}).get('error', 'syntax error')})"
    if loc == ["body"]:  # missing, or not an object
        if "json" not in request.headers.get("content-type", ""):
            return "body", "expected a JSON object (Content-Type: application/json)"
        return "body", "expected a JSON object"
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    field = ".".join(loc) or "body"
    return field, "unknown field" if kind == "extra_forbidden" else error.get("msg", "invalid value")


class RequestContext:
    """Request id, metrics, access log and the trace headers of every HTTP request.

    Pure ASGI: a `BaseHTTPMiddleware` runs each request's app in another task behind a memory stream, which
    the read path's profile showed as a cost of every request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        span = telemetry.current_span()
        status = 500  # what the client gets when the app raises before answering
        answered = False

        async def send_with_headers(message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                # Now: FastAPI ends the SERVER span as the response goes out, so later would be too late.
                telemetry.finish(span, request)
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                if trace_header := telemetry.traceresponse(span):
                    headers["traceresponse"] = trace_header
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if not answered:  # the app raised: its 500 is sent outside, the span is still open
                telemetry.finish(span, request)
            seconds = time.perf_counter() - started
            metrics.observe_http(request.method, route or "unmatched", status, seconds)
            telemetry.access_log(request, route, status, seconds, span)


def _install_middleware(app: FastAPI) -> None:
    # Inside RequestContext, so a 429 is counted, logged and traced like any answer.
    app.add_middleware(AnonymousRateLimit, proxies=parse_proxies(app.state.settings.trusted_proxies))
    app.add_middleware(RequestContext)


def _install_routes(app: FastAPI) -> None:  # noqa: C901 - one place lists the whole API surface
    # ---------------------------------------------------------------- operations
    @app.get("/healthz", tags=["operations"])
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request):
        g = gw(request)
        checks: dict[str, str] = {}

        async def check(name, coro):
            try:
                await asyncio.wait_for(coro, 3)
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                checks[name] = f"down: {type(exc).__name__}"

        checks["broker"] = "ok" if g.rpc.connected else "down"
        await asyncio.gather(
            check("redis", g.redis.ping()),
            check("mongo", g.mongo.admin.command("ping")),
            *(check(s, g.rpc.call(s, "health", timeout=3)) for s in SERVICES),
        )
        failing = sorted(k for k, v in checks.items() if v != "ok")
        if failing:
            return JSONResponse(status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}, content={
                "status": "unavailable", "failing": failing, "checks": checks,
                "error": {"code": "not_ready", "message": "not ready: " + ", ".join(failing) + " not answering"}})
        return {"status": "ready", "checks": checks}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def prometheus_metrics(request: Request):
        await metrics.refresh_queue_depths(gw(request).rpc)
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    @app.get("/v1/admin/services", tags=["operations"])
    async def services_health(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN))]):
        g = gw(request)

        async def one(s):
            try:
                return {**await g.rpc.call(s, "health", timeout=3), "status": "up"}
            except Exception as exc:  # noqa: BLE001
                return {"service": s, "status": "down", "error": str(exc)}
        return {"items": await asyncio.gather(*(one(s) for s in SERVICES))}

    # ---------------------------------------------------------------- API keys
    @app.post("/v1/api-keys", status_code=201, tags=["keys"])
    async def create_key(request: Request, body: cmd.ApiKeyIn, caller: Annotated[Caller, Depends(roles(ADMIN))],
                         idem: IdemKey = None):
        from shared.errors import Invalid

        if body.role != ADMIN and not body.divisions:
            raise Invalid("divisions: a non-admin key needs at least one division", field="divisions")
        expires = body.expires_at
        if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= utcnow():
            # (a time without an offset is UTC, as MongoDB stores it) A key dead on arrival is a mistake.
            raise Invalid("expires_at: must be in the future", field="expires_at")

        async def produce():
            created = await gw(request).keys.create(body.name, body.role, body.divisions, body.expires_at)
            return JSONResponse(status_code=201, content=created)
        # The answer holds the key's secret: never stored; a replay is 409 idempotency_key_reused.
        return await _idem(request, caller, idem, body, produce, shows_secret=True)

    @app.get("/v1/api-keys", tags=["keys"])
    async def list_keys(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN))], limit: Limit = 50,
                        cursor: Cursor = None):
        items, next_cursor = await gw(request).keys.list(limit, cursor)
        return {"items": items, "next_cursor": next_cursor}

    @app.delete("/v1/api-keys/{key_id}", status_code=204, tags=["keys"])
    async def delete_key(request: Request, key_id: str, caller: Annotated[Caller, Depends(roles(ADMIN))]):
        await gw(request).keys.revoke(key_id)
        return Response(status_code=204)

    # ---------------------------------------------------------------- audit
    @app.get("/v1/audit", tags=["audit"])
    async def audit_log(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN))], candidate_id: CandidateQ,
                        limit: Limit = 50, cursor: Cursor = None):
        """Who read a candidate's personal data: one record per read, newest first (ids and field names only)."""
        return await gw(request).audit.list(candidate_id, limit, cursor)

    # ---------------------------------------------------------------- requisitions
    @app.post("/v1/requisitions", status_code=201, tags=["requisitions"])
    async def create_requisition(request: Request, body: cmd.NewRequisition,
                                 caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 201, "sourcing", "create_requisition",
                                **body.model_dump(mode="json"))

    @app.get("/v1/requisitions", tags=["requisitions"])
    async def list_requisitions(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                                division: DivisionQ = None, status: StatusQ = None, urgent: bool | None = None,
                                limit: Limit = 50, cursor: Cursor = None):
        return await gw(request).call(caller, "sourcing", "list_requisitions", request, division=division,
                                      status=status, urgent=urgent, limit=limit, cursor=cursor)

    @app.get("/v1/requisitions/{requisition_id}", tags=["requisitions"])
    async def get_requisition(request: Request, requisition_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
        return await gw(request).call(caller, "sourcing", "get_requisition", request, requisition_id=requisition_id)

    @app.post("/v1/requisitions/{requisition_id}/close", tags=["requisitions"])
    async def close_requisition(request: Request, requisition_id: str, body: cmd.CloseRequisition,
                                caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "sourcing", "close_requisition",
                                requisition_id=requisition_id, **body.model_dump(mode="json"))

    @app.get("/v1/requisitions/{requisition_id}/applications", tags=["applications"])
    async def requisition_applications(request: Request, requisition_id: str,
                                       caller: Annotated[Caller, Depends(roles(*STAFF))], status: StatusQ = None,
                                       limit: Limit = 50, cursor: Cursor = None):
        g = gw(request)
        page = await g.call(caller, "sourcing", "list_applications", request,
                            requisition_id=requisition_id, status=status, limit=limit, cursor=cursor)
        await g.audit.record(request, caller, [
            Read(a["candidate_id"], a.get("division"), personal_fields("application", a)) for a in page["items"]])
        return page

    # ---------------------------------------------------------------- applications
    @app.post("/v1/applications", status_code=202, tags=["applications"])
    async def submit_application(request: Request, body: cmd.NewApplication,
                                 caller: Annotated[Caller, Depends(roles(RECRUITER, HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 202, "sourcing", "submit_application",
                                **body.model_dump(mode="json"))

    @app.get("/v1/applications/{application_id}", tags=["applications"])
    async def get_application(request: Request, application_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
        g = gw(request)
        found = await g.call(caller, "sourcing", "get_application", request, application_id=application_id)
        await g.audit.record(request, caller, [
            Read(found["candidate_id"], found.get("division"), personal_fields("application", found))])
        return found

    @app.get("/v1/candidates/{candidate_id}", tags=["applications"])
    async def get_candidate(request: Request, candidate_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
        g = gw(request)
        found = await g.call(caller, "sourcing", "get_candidate", request, candidate_id=candidate_id)
        await g.audit.record(request, caller, [
            Read(found["id"], division_of(caller), personal_fields("candidate", found))])
        return found

    @app.post("/v1/applications/{application_id}/screening/override", tags=["screening"])
    async def override_screening(request: Request, application_id: str, body: cmd.ScreeningOverride,
                                 caller: Annotated[Caller, Depends(roles(RECRUITER, HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "screening", "override",
                                application_id=application_id, **body.model_dump(mode="json"))

    # ---------------------------------------------------------------- interviews and decisions
    @app.post("/v1/applications/{application_id}/interviews", status_code=201, tags=["interviews"])
    async def schedule_interview(request: Request, application_id: str, body: cmd.NewInterview,
                                 caller: Annotated[Caller, Depends(roles(RECRUITER, HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 201, "interview_feedback", "schedule_interview",
                                application_id=application_id, data=body.model_dump(mode="json"))

    @app.get("/v1/interviews", tags=["interviews"])
    async def list_interviews(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF, INTERVIEWER))],
                              interviewer: Annotated[str | None, Query(max_length=80)] = None,
                              status: StatusQ = None,
                              application_id: Annotated[str | None, Query(max_length=100)] = None,
                              limit: Limit = 50, cursor: Cursor = None):
        """Interviews in the caller's divisions; an interviewer's key lists those it sits on (`submitted`
        says whose scorecards are in). Scorecards themselves are read per interview."""
        return await gw(request).call(caller, "interview_feedback", "list_interviews", request,
                                      interviewer=interviewer, status=status, application_id=application_id,
                                      limit=limit, cursor=cursor)

    @app.get("/v1/interviews/{interview_id}", tags=["interviews"])
    async def get_interview(request: Request, interview_id: str,
                            caller: Annotated[Caller, Depends(roles(*STAFF, INTERVIEWER))]):
        return await gw(request).call(caller, "interview_feedback", "get_interview", request, interview_id=interview_id)

    @app.post("/v1/interviews/{interview_id}/scorecards", status_code=201, tags=["interviews"])
    async def submit_scorecard(request: Request, interview_id: str, body: cmd.ScorecardIn,
                               caller: Annotated[Caller, Depends(roles(*STAFF, INTERVIEWER))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 201, "interview_feedback", "submit_scorecard",
                                interview_id=interview_id, data=body.model_dump(mode="json"))

    @app.post("/v1/applications/{application_id}/decision", tags=["decisions"])
    async def decide(request: Request, application_id: str, body: cmd.DecisionIn,
                     caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "interview_feedback", "decide",
                                application_id=application_id, data=body.model_dump(mode="json"))

    @app.get("/v1/applications/{application_id}/approvals", tags=["decisions"])
    async def list_approvals(request: Request, application_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
        return await gw(request).call(caller, "interview_feedback", "list_approvals", request,
                                      application_id=application_id)

    @app.get("/v1/approvals", tags=["decisions"])
    async def approval_queue(request: Request, caller: Annotated[Caller, Depends(roles(HR, ADMIN))],
                             division: DivisionQ = None):
        """The approval steps waiting for a decision now, overdue first: division HR's own steps; for group
        HR every waiting step, with `can_decide` on its own."""
        return await gw(request).call(caller, "interview_feedback", "approval_queue", request, division=division)

    @app.post("/v1/approvals/{approval_id}", tags=["decisions"])
    async def decide_approval(request: Request, approval_id: str, body: cmd.ApprovalDecisionIn,
                              caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "interview_feedback", "decide_approval",
                                approval_id=approval_id, data=body.model_dump(mode="json"))

    @app.post("/v1/applications/{application_id}/confirmation", tags=["decisions"])
    async def confirmation(request: Request, application_id: str, body: cmd.ConfirmationIn,
                           caller: Annotated[Caller, Depends(roles(HR, RECRUITER, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "sourcing", "record_confirmation",
                                application_id=application_id, **body.model_dump(mode="json"))

    @app.post("/v1/applications/{application_id}/outcome", tags=["decisions"])
    async def outcome(request: Request, application_id: str, body: cmd.OutcomeIn,
                      caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, body, 200, "sourcing", "record_outcome",
                                application_id=application_id, **body.model_dump(mode="json"))

    # ---------------------------------------------------------------- candidates' rights (GDPR)
    @app.delete("/v1/candidates/{candidate_id}", status_code=202, tags=["privacy"])
    async def erase_candidate(request: Request, candidate_id: str, caller: Annotated[Caller, Depends(roles(ADMIN))]):
        """Right to erasure: the candidate is erased or anonymised in every service; the answer is the erasure,
        whose per-service progress `GET /v1/erasures/{id}` shows until it is complete. Asking again gives
        the same erasure (and redoes the gateway's part)."""
        g = gw(request)
        erasure = await g.call(caller, "sourcing", "erase_candidate", request, candidate_id=candidate_id)
        # The gateway's own part: cached idempotent answers concerning the candidate, found by every id they
        # concern (gateway/idempotency.py). An answer about an interview or an approval step (a scorecard, a
        # step's note) is indexed by that id, which names no application: the erasure asks interview_feedback
        # for the interviews and steps of the candidate's applications (it keeps ids, so this works during and
        # after its own erasure). Should that fail, this request fails before the gateway confirms its part,
        # and asking again (the same erasure) redoes it: nothing is skipped silently.
        app_ids = list(erasure["application_ids"])
        ids = [candidate_id, *app_ids, *await _interviews_and_steps(g, caller, request, app_ids)]
        forgotten = await forget(g.redis, g.settings.redis_key(), ids)
        return await g.call(caller, "sourcing", "confirm_erasure", request, erasure_id=erasure["id"],
                            party="gateway", counts={"idempotency_records": forgotten})

    @app.get("/v1/erasures/{erasure_id}", tags=["privacy"])
    async def get_erasure(request: Request, erasure_id: str, caller: Annotated[Caller, Depends(roles(ADMIN))]):
        return await gw(request).call(caller, "sourcing", "get_erasure", request, erasure_id=erasure_id)

    @app.get("/v1/candidates/{candidate_id}/export", tags=["privacy"])
    async def export_candidate(request: Request, candidate_id: str, caller: Annotated[Caller, Depends(roles(ADMIN))]):
        """Right of access: everything every service holds about the candidate, as one JSON document."""
        g = gw(request)
        own = await g.call(caller, "sourcing", "export_candidate", request, candidate_id=candidate_id)
        app_ids = [a["id"] for a in own["applications"]]
        others = ("screening", "interview_feedback", "notification", "talent_pool")
        parts = await asyncio.gather(*(g.call(caller, service, "export_candidate", request, candidate_id=candidate_id,
                                              application_ids=app_ids) for service in others))
        divisions = {a.get("division") for a in own["applications"]}
        await g.audit.record(request, caller, [Read(candidate_id, division_of(caller, divisions),
                                                    ["export", *personal_fields("candidate", own["candidate"])])])
        return {"candidate_id": candidate_id, "exported_at": iso(utcnow()), "format": "hireloop-export/1",
                "services": {"sourcing": own, **dict(zip(others, parts, strict=True))}}

    @app.get("/v1/retention-policies/{division}", tags=["privacy"])
    async def get_retention(request: Request, division: str, caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
        if not caller.can_see(division):
            raise Forbidden(f"no access to division '{division}'")
        return await gw(request).call(caller, "sourcing", "get_retention_policy", request, division=division)

    @app.put("/v1/retention-policies/{division}", tags=["privacy"])
    async def put_retention(request: Request, division: str, body: cmd.RetentionPolicyIn,
                            caller: Annotated[Caller, Depends(roles(ADMIN))]):
        from shared.errors import Invalid

        if body.division is not None and body.division != division:  # a GET's answer sent back to another path
            raise Invalid("division: must match the path", field="division")
        return await gw(request).call(caller, "sourcing", "put_retention_policy", request, division=division,
                                      **body.model_dump(mode="json", exclude={"division"}))

    # ---------------------------------------------------------------- notifications
    @app.get("/v1/applications/{application_id}/notifications", tags=["notifications"])
    async def application_notifications(request: Request, application_id: str,
                                        caller: Annotated[Caller, Depends(roles(*STAFF))]):
        g = gw(request)
        found = await g.call(caller, "sourcing", "get_application", request, application_id=application_id)  # 404
        page = await g.call(caller, "notification", "list_for_application", request, application_id=application_id)
        notices = page["items"]
        if notices:  # they carry the recipient's address, and the body names the candidate
            await g.audit.record(request, caller, [
                Read(found["candidate_id"], found.get("division"), personal_fields("notice", *notices))])
        return notices  # api-v1: a bare list of notices

    @app.get("/v1/candidates/{candidate_id}/notifications", tags=["notifications"])
    async def candidate_notifications(request: Request, candidate_id: str,
                                      caller: Annotated[Caller, Depends(roles(*STAFF))]):
        g = gw(request)
        await g.call(caller, "sourcing", "get_candidate", request, candidate_id=candidate_id)  # scope: 404
        page = await g.call(caller, "notification", "list_for_candidate", request, candidate_id=candidate_id)
        notices = page["items"]
        if notices:
            await g.audit.record(request, caller, [Read(candidate_id, division_of(
                caller, (n.get("division") for n in notices)), personal_fields("notice", *notices))])
        return notices

    @app.get("/v1/notification-policies/{division}", tags=["notifications"])
    async def get_policy(request: Request, division: str, caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
        if not caller.can_see(division):
            raise Forbidden(f"no access to division '{division}'")
        return await gw(request).call(caller, "notification", "get_policy", request, division=division)

    @app.put("/v1/notification-policies/{division}", tags=["notifications"])
    async def put_policy(request: Request, division: str, body: cmd.NotificationPolicyPut,
                         caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
        # Unset fields take their defaults in the service (PUT replaces); a secret not sent is kept there.
        return await gw(request).call(caller, "notification", "put_policy", request, division=division,
                                      data=body.model_dump(mode="json", exclude_none=True))

    # ---------------------------------------------------------------- reports
    @app.get("/v1/reports/notification-timing", tags=["reports"])
    async def notification_timing(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                                  division: DivisionQ = None,
                                  start: Annotated[str | None, Query(alias="from", max_length=40,
                                                                     description="ISO date")] = None,
                                  end: Annotated[str | None, Query(alias="to", max_length=40,
                                                                   description="ISO date")] = None):
        """Per result kind, tier and timing mode: notices, median delay from decision to notice, acceptance
        and no-show rates, average survey score; over decisions in [from, to)."""
        return await gw(request).call(caller, "notification", "timing_report", request, division=division,
                                      start=start, end=end)

    @app.get("/v1/reports/funnel", tags=["reports"])
    async def funnel_report(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                            division: DivisionQ = None,
                            requisition_id: Annotated[str | None, Query(max_length=100)] = None,
                            group_by: Annotated[Literal["division", "requisition"], Query()] = "division",
                            start: FromQ = None, end: ToQ = None):
        """Per division or requisition: how many applications reached each status, the conversion and drop-off
        from the stage before, the median time in each stage, and the exits; over applications received in
        [from, to)."""
        return await gw(request).call(caller, "sourcing", "funnel_report", request, division=division,
                                      requisition_id=requisition_id, group_by=group_by, start=start, end=end)

    @app.get("/v1/reports/time-to-hire", tags=["reports"])
    async def time_to_hire_report(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                                  division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
        """Per division and tier: median and p90 (nearest rank) days from application to offer and to hire."""
        return await gw(request).call(caller, "sourcing", "time_to_hire_report", request, division=division,
                                      start=start, end=end)

    @app.get("/v1/reports/sources", tags=["reports"])
    async def sources_report(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                             division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
        """Per source channel: applications, shortlisted, interviewed, offers, hires and their rates."""
        return await gw(request).call(caller, "sourcing", "sources_report", request, division=division,
                                      start=start, end=end)

    @app.get("/v1/reports/interviewers", tags=["reports"])
    async def interviewers_report(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                                  division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
        """Per interviewer, over scorecards submitted in [from, to): scorecards, mean rating, leniency z-score,
        scorecards in flagged discrepancies, median submission delay."""
        return await gw(request).call(caller, "interview_feedback", "interviewer_report", request,
                                      division=division, start=start, end=end)

    @app.get("/v1/reports/talent-pool", tags=["reports"])
    async def talent_pool_report(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                                 division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
        """Pool size, pooled, re-surfaced, re-engaged and accepted, and the days from an urgent requisition's
        opening to each offer, fast-tracked vs new candidates."""
        return await gw(request).call(caller, "talent_pool", "pool_report", request, division=division,
                                      start=start, end=end)

    # ---------------------------------------------------------------- talent pool
    @app.get("/v1/talent-pool", tags=["talent pool"])
    async def talent_pool(request: Request, caller: Annotated[Caller, Depends(roles(*STAFF))],
                          skill: Annotated[str | None, Query(max_length=80)] = None, division: DivisionQ = None,
                          limit: Limit = 50, cursor: Cursor = None):
        g = gw(request)
        page = await g.call(caller, "talent_pool", "list_pool", request, skill=skill, division=division,
                            limit=limit, cursor=cursor)
        # The pool is group-wide: an entry's data belongs to the division whose interview pooled it.
        await g.audit.record(request, caller, [
            Read(e["candidate_id"], division_of(caller, [(e.get("prior") or {}).get("division")]),
                 personal_fields("pool_entry", e)) for e in page["items"]])
        return page

    @app.get("/v1/requisitions/{requisition_id}/matches", tags=["talent pool"])
    async def matches(request: Request, requisition_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
        g = gw(request)
        found = await g.call(caller, "talent_pool", "get_matches", request, requisition_id=requisition_id)
        # Matches do not name a division: a scoped key's one division is the requisition's; an admin's, none.
        await g.audit.record(request, caller, [
            Read(m["candidate_id"], division_of(caller), personal_fields("match", m)) for m in found])
        return found

    @app.post("/v1/requisitions/{requisition_id}/matches/{candidate_id}/reengage", status_code=202,
              tags=["talent pool"])
    async def reengage(request: Request, requisition_id: str, candidate_id: str,
                       caller: Annotated[Caller, Depends(roles(RECRUITER, HR, ADMIN))], idem: IdemKey = None):
        return await _idem_call(request, caller, idem, None, 202, "talent_pool", "reengage",
                                requisition_id=requisition_id, candidate_id=candidate_id)


async def _idem(request: Request, caller: Caller, idem: str | None, body, produce, shows_secret: bool = False):
    g = gw(request)
    parts = [request.method, request.url.path, body.model_dump(mode="json") if body is not None else None]
    # The path's ids (application, interview, approval step, candidate, ...) find the record on erasure.
    return await idempotent(g.redis, g.settings.redis_key(), caller.key_id, idem, parts, produce,
                            concerns=[str(v) for v in request.path_params.values()], shows_secret=shows_secret)


async def _interviews_and_steps(g: Gateway, caller: Caller, request: Request, application_ids: list[str]) -> list[str]:
    """The ids of the interviews and approval steps of these applications (interview_feedback's)."""
    async def of(application_id: str) -> list[str]:
        interviews, cursor = [], None
        while True:
            page = await g.call(caller, "interview_feedback", "list_interviews", request,
                                application_id=application_id, limit=500, cursor=cursor)
            interviews += [i["id"] for i in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        try:
            steps = await g.call(caller, "interview_feedback", "list_approvals", request,
                                 application_id=application_id)
        except NotFound:
            steps = []
        return interviews + [s["id"] for s in steps]
    found = await asyncio.gather(*(of(a) for a in application_ids))
    return [i for ids in found for i in ids]


async def _idem_call(request: Request, caller: Caller, idem: str | None, body, status: int, service: str, method: str,
                     **kwargs):
    async def produce():
        result = await gw(request).call(caller, service, method, request, **kwargs)
        return JSONResponse(status_code=status, content=result)
    return await _idem(request, caller, idem, body, produce)

