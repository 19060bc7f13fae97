"""api-v1's error answers: every exception a route can raise, as `{"error": {"code", "message", "field"}}`
with its status (and Retry-After where waiting helps). The HTTP status of each kind of domain error
(shared/errors.py) is decided here, in one place: domains and services name none."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import console
from gateway.ratelimit import RateLimited
from shared.bus.aio_rpc import RemoteError, ServiceUnavailable
from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthenticated

log = logging.getLogger("hireloop.gateway")
RETRY_AFTER_SECONDS = "5"

HTTP_STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}
DEFAULT_STATUS = 400  # a DomainError of no kind above


def http_status(exc: DomainError) -> int:
    """The status of the nearest kind `exc` is (a subclass answers like its kind)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return DEFAULT_STATUS


def error_body(code: str, message: str, field: str | None = None) -> dict:
    err = {"code": code, "message": message}
    if field:
        err["field"] = field
    return {"error": err}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError):
        return JSONResponse(status_code=http_status(exc), content={"error": exc.as_dict()})

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
        if request.url.path == "/careers" or request.url.path.startswith("/careers/"):  # the careers site's look
            from gateway.routes.careers import error_page  # the routes import this module
            return error_page(request, exc.status_code)
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
