"""The console's way to the data: the gateway's own /v1 API, called in-process with the signed-in key.

Nothing the console shows or changes bypasses the API: each call goes through the same ASGI app an API
client reaches (authentication, rate limits, role checks, division scope in the services, the audit log
of personal-data reads, idempotency), only without a network hop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from shared.contracts.common import MAX_PAGE


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return self.message


class SignedOut(ApiError):
    """The key stopped working (revoked, expired): the session is over."""


class ConsoleApi:
    def __init__(self, app: FastAPI):
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.internal",
                                         timeout=30)

    async def close(self) -> None:
        await self._client.aclose()

    async def request(self, key: str, method: str, path: str, *, params: dict | None = None, body: Any = None,
                      request_id: str | None = None, idempotency_key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        if request_id:
            headers["X-Request-Id"] = request_id
        if method in ("POST", "PATCH"):  # a form sent twice (double click, reload) is done once
            headers["Idempotency-Key"] = idempotency_key or secrets.token_urlsafe(16)
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        response = await self._client.request(method, path, params=clean, json=body, headers=headers)
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:  # not JSON (a bare 500 page): an error to show, never one to raise further
            raise ApiError(response.status_code if response.status_code >= 400 else 502, "error",
                           "The request failed; try again.") from None
        if response.status_code >= 400:
            err = data.get("error") or {}
            cls = SignedOut if response.status_code == 401 else ApiError
            raise cls(response.status_code, err.get("code", "error"), err.get("message", "request failed"),
                      err.get("field"))
        return data


    async def download(self, key: str, path: str, request_id: str | None = None) -> httpx.Response:
        """A file (`GET /v1/documents/{id}`): the API's answer as it is, bytes and headers, for the console to pass
        on; an error answer raises as `request` does."""
        headers = {"Authorization": f"Bearer {key}"} | ({"X-Request-Id": request_id} if request_id else {})
        response = await self._client.get(path, headers=headers)
        if response.status_code >= 400:
            try:
                err = response.json().get("error") or {}
            except ValueError:
                err = {}
            cls = SignedOut if response.status_code == 401 else ApiError
            raise cls(response.status_code, err.get("code", "error"), err.get("message", "request failed"),
                      err.get("field"))
        return response


class Caller:
    """One console request's view of the API: the session's key and the page's request id."""

    def __init__(self, api: ConsoleApi, key: str, request_id: str | None):
        self._api, self._key, self._request_id = api, key, request_id

    async def get(self, path: str, **params: Any) -> Any:
        return await self._api.request(self._key, "GET", path, params=params, request_id=self._request_id)

    async def post(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        return await self._api.request(self._key, "POST", path, body=body, request_id=self._request_id,
                                       idempotency_key=idempotency_key)

    async def patch(self, path: str, body: Any, idempotency_key: str | None = None) -> Any:
        return await self._api.request(self._key, "PATCH", path, body=body, request_id=self._request_id,
                                       idempotency_key=idempotency_key)

    async def download(self, path: str) -> httpx.Response:
        return await self._api.download(self._key, path, self._request_id)

    async def put(self, path: str, body: Any) -> Any:
        return await self._api.request(self._key, "PUT", path, body=body, request_id=self._request_id)

    async def delete(self, path: str) -> Any:
        return await self._api.request(self._key, "DELETE", path, request_id=self._request_id)

    async def get_or_none(self, path: str, **params: Any) -> Any:
        """For a panel that may not apply (a report the caller may not read): None instead of an error."""
        try:
            return await self.get(path, **params)
        except SignedOut:
            raise
        except ApiError:
            return None

    async def all_pages(self, path: str, **params: Any) -> list[dict]:
        items, cursor = [], None
        while True:
            page = await self.get(path, limit=MAX_PAGE, cursor=cursor, **params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor or len(items) >= 5000:  # a board beyond that needs filters, not a longer page
                return items
