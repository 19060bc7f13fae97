"""The idempotency layer: which ids a remembered answer is found by, what is never remembered, and the
erasure's look-up, against the test session's real Redis."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from fastapi.responses import JSONResponse

from gateway.idempotency import concerned_ids, forget, idempotent, ids_in, index_key, secret_replay
from shared.ids import new_id

NOTE = "the candidate mentioned a health condition"


def test_ids_in_finds_every_id_at_any_depth_and_nothing_else():
    doc = {"id": "scd_1", "interview_id": "int_1", "ratings": {"craft": 4}, "notes": "app_2 in text",
           "steps": [{"id": "apr_1", "application_id": "app_1"}], "application_ids": ["app_3", 7],
           "candidate_id": None, "count_id": 3}
    assert ids_in(doc) == {"scd_1", "int_1", "apr_1", "app_1", "app_3"}
    assert ids_in(["POST", "/v1/x", None]) == set() and ids_in("app_1") == set()


def test_a_record_concerns_its_path_ids_its_request_and_its_answer():
    request = ["POST", "/v1/applications", {"requisition_id": "req_1", "candidate": {"name": "Ann"}}]
    answer = json.dumps({"id": "app_1", "candidate_id": "cand_1", "status": "received"})
    assert concerned_ids(["int_9"], request, answer) == ["app_1", "cand_1", "int_9", "req_1"]
    assert concerned_ids(["x" * 201, ""], None, "not json") == []  # a fuzzer's path is not indexed


def test_a_replay_of_an_answer_with_a_secret_is_a_409_naming_what_was_created():
    status, body = secret_replay(201, json.dumps({"id": "key_1", "key": "hl_secret"}))
    error = json.loads(body)["error"]
    assert status == 409 and error["code"] == "idempotency_key_reused" and error["field"] == "Idempotency-Key"
    assert "key_1" in error["message"] and "hl_secret" not in body


@pytest.fixture
def redis_prefix(data_infra):
    prefix = f"{data_infra.namespace}:{new_id('t')}"
    yield data_infra.redis_url, prefix

    async def clean():
        r = aioredis.Redis.from_url(data_infra.redis_url)
        async for key in r.scan_iter(f"{prefix}:*"):
            await r.delete(key)
        await r.aclose()
    asyncio.run(clean())


def run(redis_url, body):
    async def main():
        r = aioredis.Redis.from_url(redis_url)
        try:
            return await body(r)
        finally:
            await r.aclose()
    return asyncio.run(main())


def test_an_answer_naming_only_its_interview_is_forgotten_by_the_interview_id(redis_prefix):
    redis_url, prefix = redis_prefix
    produced = []

    async def produce():
        produced.append(1)
        return JSONResponse({"id": "scd_1", "interview_id": "int_1", "notes": NOTE}, status_code=201)

    async def body(r):
        parts = ["POST", "/v1/interviews/int_1/scorecards", {"notes": NOTE}]
        first = await idempotent(r, prefix, "key_a", "k1", parts, produce, concerns=["int_1"])
        replay = await idempotent(r, prefix, "key_a", "k1", parts, produce, concerns=["int_1"])
        assert NOTE in replay.body.decode() and replay.headers["Idempotent-Replayed"] == "true"
        ttl = await r.ttl(index_key(prefix, "int_1"))
        forgotten = await forget(r, prefix, ["cand_1", "app_1", "int_1"])  # the erasure's ids
        again = await idempotent(r, prefix, "key_a", "k1", parts, produce, concerns=["int_1"])
        return first.status_code, ttl, forgotten, "Idempotent-Replayed" in again.headers
    status, ttl, forgotten, replayed = run(redis_url, body)
    assert status == 201 and 0 < ttl <= 24 * 3600 and forgotten == 1
    assert not replayed and len(produced) == 2  # nothing was remembered any more: the request ran again


def test_an_answer_with_a_secret_is_never_stored(redis_prefix):
    redis_url, prefix = redis_prefix

    async def produce():
        return JSONResponse({"id": "key_1", "key": "hl_secret_value"}, status_code=201)

    async def body(r):
        parts = ["POST", "/v1/api-keys", {"name": "n"}]
        first = await idempotent(r, prefix, "admin", "k", parts, produce, shows_secret=True)
        replay = await idempotent(r, prefix, "admin", "k", parts, produce, shows_secret=True)
        stored = [await r.get(k) async for k in r.scan_iter(f"{prefix}:idem:*")]
        return first, replay, stored
    first, replay, stored = run(redis_url, body)
    assert first.status_code == 201 and b"hl_secret_value" in first.body  # shown once
    assert replay.status_code == 409 and b"hl_secret_value" not in replay.body
    assert stored and not any(b"hl_secret_value" in v for v in stored)
