"""The gateway's part of a trace: the SERVER span of each HTTP request (made by FastAPI, the root of the
trace every RPC and event of that request continues), its access log line, and the `traceresponse` header
that tells a client which trace its request made.

A portal token in the path is replaced by `{token}` (it is the candidate's credential); client address
and user agent are not recorded. Probes (`/healthz`, `/readyz`, `/metrics`) are not traced.
"""

from __future__ import annotations

import logging

from fastapi import Request
from opentelemetry import trace

from shared import tracing

log = logging.getLogger("hireloop.access")
UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
SECRET_PATH_PARAMS = ("token",)


def safe_path(request: Request) -> str:
    path = request.url.path
    for name in SECRET_PATH_PARAMS:
        value = request.path_params.get(name)
        if isinstance(value, str) and value:
            path = path.replace(value, "{" + name + "}")
    return path


def telemetry_config() -> dict:
    """FastAPI's own OpenTelemetry support makes the SERVER span (continuing a caller's `traceparent`) and
    spans for dependencies, endpoint and serialization. Its metrics and logs stay off: /metrics is
    Prometheus, and its logs would carry exception messages."""
    return {"tracing": True, "operation_spans": False, "metrics": False, "logs": False,
            "exclude": lambda scope: scope.get("path") in UNTRACED}


def current_span():
    """The request's SERVER span (FastAPI's), current while the middleware runs; None when not traced."""
    span = trace.get_current_span()
    return span if span.is_recording() else None


def finish(span, request: Request) -> None:
    """Mask secrets in the span's path and tag it with the ids in the route (FastAPI sets name, route,
    status and error type itself)."""
    if span is None or not span.is_recording():
        return
    span.set_attribute("url.path", safe_path(request))  # FastAPI wrote the raw path, token included
    tracing.set_ids(span, application_id=request.path_params.get("application_id"),
                    requisition_id=request.path_params.get("requisition_id"))


def traceresponse(span) -> str | None:
    """W3C Trace Context `traceresponse` header value: the trace this request made."""
    if span is None or not span.is_recording():
        return None
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"


def access_log(request: Request, route: str | None, status: int, seconds: float, span) -> None:
    if request.url.path in UNTRACED:
        return
    extra = {"method": request.method, "route": route or "unmatched", "status": status,
             "duration_ms": round(seconds * 1000, 1), "request_id": getattr(request.state, "request_id", None)}
    if span is not None and span.is_recording():
        ctx = span.get_span_context()
        extra["trace_id"], extra["span_id"] = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    log.log(logging.WARNING if status >= 500 else logging.INFO,
            f"{request.method} {route or safe_path(request)} {status}", extra=extra)
