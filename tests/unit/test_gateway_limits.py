"""The gateway's body limit on its own (the whole gateway: gateway/tests/test_api_limits.py): it counts the bytes
that arrive, so a chunked body without Content-Length cannot get past it either."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.limits import BodyLimit

LIMIT = 1000


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"size": len(body), "head": body[:5].decode()})


def send(content, headers=None) -> httpx.Response:
    app = BodyLimit(Starlette(routes=[Route("/", echo, methods=["GET", "POST"])]), max_bytes=LIMIT)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            return await client.post("/", content=content, headers=headers)
    return asyncio.run(go())


def chunked(*parts: bytes):
    async def stream():
        for part in parts:
            yield part
    return stream()


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and error["field"] == "body"
    assert f"limit of {LIMIT} bytes" in error["message"]


def test_a_body_up_to_the_limit_reaches_the_app_unchanged():
    assert send(b"x" * LIMIT).json() == {"size": LIMIT, "head": "xxxxx"}
    assert send(chunked(b"ab", b"c" * (LIMIT - 2))).json() == {"size": LIMIT, "head": "abccc"}
    assert send(b"").json() == {"size": 0, "head": ""}


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    assert_refused(send(b"x" * (LIMIT + 1)))


def test_a_chunked_body_over_the_limit_is_refused_without_content_length():
    request = httpx.Request("POST", "http://gw/", content=chunked(b"x"))
    assert "content-length" not in request.headers and request.headers["transfer-encoding"] == "chunked"
    assert_refused(send(chunked(*[b"y" * 100] * 11)))
