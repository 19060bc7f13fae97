"""What wraps every HTTP request: the anonymous rate limit (gateway/ratelimit.py) inside RequestContext."""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI, Request
from starlette.datastructures import MutableHeaders

from gateway import metrics, telemetry
from gateway.ratelimit import AnonymousRateLimit, parse_proxies


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


def install(app: FastAPI) -> None:
    # Inside RequestContext, so a 429 is counted, logged and traced like any answer.
    app.add_middleware(AnonymousRateLimit, proxies=parse_proxies(app.state.settings.trusted_proxies))
    app.add_middleware(RequestContext)
