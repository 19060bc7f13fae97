"""The request body limit, enforced on the bytes that arrive, not on what `Content-Length` claims.

A declared length over the limit is refused before anything is read. A body without a length
(`Transfer-Encoding: chunked`) is read up to the limit and refused as soon as it goes over, so a client
cannot stream more than the limit into the gateway's memory. Either way: 413 `payload_too_large` naming
the limit. The body read here is handed to the application unchanged.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_body(max_bytes: int) -> dict:
    return {"error": {"code": "payload_too_large", "field": "body",
                      "message": f"request body over the limit of {max_bytes} bytes"}}


class BodyLimit:
    """Pure ASGI middleware (a `BaseHTTPMiddleware` could not stop a chunked body mid-stream)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before sending its whole request
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
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

    async def _refuse(self, send: Send) -> None:
        content = json.dumps(too_large_body(self.max_bytes)).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": content})


def install(app: FastAPI, max_bytes: int) -> None:
    app.add_middleware(BodyLimit, max_bytes=max_bytes)
