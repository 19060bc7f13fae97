"""The request body limit, enforced on the bytes that arrive, not on what `Content-Length` claims.

A declared length over the limit is refused before anything is read. A body without a length
(`Transfer-Encoding: chunked`) is read up to the limit and refused as soon as it goes over, so a client
cannot stream more than the limit into the gateway's memory. Either way: 413 `payload_too_large` naming
the limit. The body read here is handed to the application unchanged.

A few routes take more (an application with its CV: `larger`, by path pattern); a page for people (the
careers site) is refused with an HTML page instead of JSON (`page`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_body(max_bytes: int) -> dict:
    return {"error": {"code": "payload_too_large", "field": "body",
                      "message": f"request body over the limit of {max_bytes} bytes"}}


class BodyLimit:
    """Pure ASGI middleware (a `BaseHTTPMiddleware` could not stop a chunked body mid-stream)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Sequence[tuple[str, int]] = (),
                 page: Callable[[Scope, int], bytes | None] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.larger = [(re.compile(pattern), limit) for pattern, limit in larger]
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((n for pattern, n in self.larger if pattern.fullmatch(scope["path"])), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before sending its whole request
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        html = self.page(scope, limit) if self.page is not None else None
        content = html if html is not None else json.dumps(too_large_body(limit)).encode()
        kind = b"text/html; charset=utf-8" if html is not None else b"application/json"
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", kind), (b"content-length", str(len(content)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": content})


def install(app: FastAPI, max_bytes: int, larger: Sequence[tuple[str, int]] = (),
            page: Callable[[Scope, int], bytes | None] | None = None) -> None:
    app.add_middleware(BodyLimit, max_bytes=max_bytes, larger=larger, page=page)
