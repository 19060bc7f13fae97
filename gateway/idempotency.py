"""`Idempotency-Key` on every POST: a retry with the same key and body returns the first response and
changes nothing more. Records live in Redis (shared by all gateway replicas) for 24 hours.

The first request claims the key atomically (SET NX); a concurrent retry while it runs gets 409; a
retry with a different body gets 422; a 5xx is not remembered, so the client may retry it.

Two rules keep the cache from holding what it must not:
- **Found by every id it concerns.** A remembered answer is listed, before it is stored and in the same
  Redis transaction, in an index set per id it concerns (`<prefix>:idem-index:<id>`, same TTL): the
  route's path ids, and every `id`/`*_id` value of the request body and of the answer. An erasure drops
  the records of the candidate's ids (`forget`), whether or not the stored body names them: a scorecard's
  answer names only its interview, found through the interview id of its path (the erasure expands the
  candidate's applications to their interviews and approvals, gateway/routes/privacy.py `erase_candidate`).
- **Secrets are never stored.** A route whose answer carries a secret (an API key's `key`) passes
  `shows_secret=True`: what is remembered is not the answer but the refusal a replay gets, 409
  `idempotency_key_reused` naming the object created; the secret is shown once, as the contract says.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi.responses import Response

from shared.erasure import mentions_any
from shared.errors import Conflict, Invalid

TTL_SECONDS = 24 * 3600
IN_FLIGHT_TTL = 120
MAX_ID_LENGTH = 200  # longer "ids" (a fuzzer's path) are not worth an index set


def ids_in(value: Any) -> set[str]:
    """Every id a JSON document names: string values (or lists of strings) under `id` or a key ending in
    `_id`/`_ids`, at any depth."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and (key == "id" or key.endswith(("_id", "_ids"))):
                    for candidate in inner if isinstance(inner, list) else [inner]:
                        if isinstance(candidate, str):
                            found.add(candidate)
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return found


def concerned_ids(concerns: Iterable[str], request: Any, response_body: str) -> list[str]:
    """The ids a remembered answer is found by: the route's own (path) ids, and those of its request (any JSON
    value holding its body) and of its answer."""
    try:
        answer = json.loads(response_body) if response_body else None
    except ValueError:
        answer = None
    ids = {c for c in concerns if isinstance(c, str)} | ids_in(request) | ids_in(answer)
    return sorted(i for i in ids if 0 < len(i) <= MAX_ID_LENGTH)


def index_key(key_prefix: str, object_id: str) -> str:
    return f"{key_prefix}:idem-index:{object_id}"


def secret_replay(status: int, body: str) -> tuple[int, str]:
    """What a replay of an answer that carried a secret gets instead of it: 409 naming what was created."""
    try:
        created = json.loads(body).get("id") if body else None
    except (ValueError, AttributeError):
        created = None
    what = f" (it created {created})" if isinstance(created, str) else ""
    message = (f"Idempotency-Key was already used{what}; the answer held a secret that is shown once and never "
               f"stored, so it cannot be replayed. If that answer was lost, revoke what it created and "
               f"ask again with a new Idempotency-Key.")
    return 409, json.dumps({"error": {"code": "idempotency_key_reused", "message": message,
                                      "field": "Idempotency-Key"}})


async def idempotent(redis, key_prefix: str, caller_id: str, idem_key: str | None, fingerprint_parts: list[Any],
                     produce: Callable[[], Awaitable[Response]], *, concerns: Iterable[str] = (),
                     shows_secret: bool = False) -> Response:
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
    ids = concerned_ids(concerns, fingerprint_parts, body)  # the parts hold the request's body
    status, media_type = response.status_code, response.media_type
    if shows_secret and status < 300:
        status, body = secret_replay(status, body)
        media_type = "application/json"
    # The index first, in the same transaction: no remembered answer exists that an erasure cannot find.
    async with redis.pipeline(transaction=True) as pipe:
        for object_id in ids:
            pipe.sadd(index_key(key_prefix, object_id), redis_key)
            pipe.expire(index_key(key_prefix, object_id), TTL_SECONDS)
        pipe.set(redis_key, json.dumps({"state": "done", "fp": fingerprint, "status": status, "body": body,
                                        "media_type": media_type}), ex=TTL_SECONDS)
        await pipe.execute()
    return response


async def forget(redis, key_prefix: str, ids: list[str]) -> int:
    """Delete every remembered answer that concerns one of `ids` (an erased candidate's ids, its applications',
    interviews' and approval steps'), found through the index sets; returns how many records went."""
    records: set[bytes] = set()
    for object_id in ids:
        records |= set(await redis.smembers(index_key(key_prefix, object_id)))
    forgotten = 0
    if records:
        forgotten = await redis.delete(*records)
    if ids:
        await redis.delete(*(index_key(key_prefix, i) for i in ids))
    # Records stored before the index existed (at most TTL_SECONDS old) are still found by what they say.
    return forgotten + await forget_mentions(redis, key_prefix, ids)


async def forget_mentions(redis, key_prefix: str, needles: list[str]) -> int:
    """Delete remembered answers that mention any of `needles` (an erased candidate's ids); returns how many.
    A scan of this gateway's idempotency records, which live at most TTL_SECONDS."""
    forgotten = 0
    async for key in redis.scan_iter(match=f"{key_prefix}:idem:*", count=500):
        value = await redis.get(key)
        if value is not None and mentions_any(value if isinstance(value, bytes) else value.encode(), needles):
            forgotten += await redis.delete(key)
    return forgotten
