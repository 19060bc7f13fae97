"""`Idempotency-Key` on every POST: a retry with the same key and body returns the first response and
changes nothing more. Records live in Redis (shared by all gateway replicas) for 24 hours.

The first request claims the key atomically (SET NX); a concurrent retry while it runs gets 409; a
retry with a different body gets 422; a 5xx is not remembered, so the client may retry it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from shared.erasure import mentions_any
from shared.errors import Conflict, Invalid

TTL_SECONDS = 24 * 3600
IN_FLIGHT_TTL = 120


async def idempotent(redis, key_prefix: str, caller_id: str, idem_key: str | None, fingerprint_parts: list[Any],
                     produce: Callable[[], Awaitable[Response]]) -> Response:
    if not idem_key:
        return await produce()
    if len(idem_key) > 200:
        raise Invalid("Idempotency-Key: at most 200 characters", field="Idempotency-Key")
    fingerprint = hashlib.sha256(json.dumps(fingerprint_parts, sort_keys=True, default=str).encode()).hexdigest()
    redis_key = f"{key_prefix}:idem:{caller_id}:{hashlib.sha256(idem_key.encode()).hexdigest()}"
    claimed = await redis.set(redis_key, json.dumps({"state": "in_flight", "fp": fingerprint}), nx=True,
                              ex=IN_FLIGHT_TTL)
    if not claimed:
        record = json.loads(await redis.get(redis_key) or "{}")
        if record.get("fp") != fingerprint:
            raise Invalid("Idempotency-Key was already used with a different request", code="idempotency_key_reused",
                          field="Idempotency-Key")
        if record.get("state") != "done":
            raise Conflict("a request with this Idempotency-Key is still in progress", code="request_in_progress")
        return Response(content=record["body"].encode(), status_code=record["status"],
                        media_type=record.get("media_type") or "application/json",
                        headers={"Idempotent-Replayed": "true"})
    try:
        response = await produce()
    except Exception:
        await redis.delete(redis_key)
        raise
    if response.status_code >= 500:
        await redis.delete(redis_key)
        return response
    body = bytes(response.body).decode() if getattr(response, "body", None) is not None else ""
    await redis.set(redis_key, json.dumps({"state": "done", "fp": fingerprint, "status": response.status_code,
                                           "body": body, "media_type": response.media_type}), ex=TTL_SECONDS)
    return response


async def forget_mentions(redis, key_prefix: str, needles: list[str]) -> int:
    """Delete remembered answers that mention any of `needles` (an erased candidate's ids); returns how many.
    A scan of this gateway's idempotency records, which live at most TTL_SECONDS."""
    forgotten = 0
    async for key in redis.scan_iter(match=f"{key_prefix}:idem:*", count=500):
        value = await redis.get(key)
        if value is not None and mentions_any(value if isinstance(value, bytes) else value.encode(), needles):
            forgotten += await redis.delete(key)
    return forgotten


def json_response(status: int, content: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content=content)
