"""The API key cache and the audit log's group commit, against the real MongoDB and Redis of the test
session: two KeyStores stand for two gateway replicas sharing one database and one Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient, monitoring

from gateway import keys as keys_module
from gateway.audit import GroupWriter
from gateway.keys import KeyStore
from shared.errors import Unauthenticated
from shared.ids import new_id
from shared.timeutil import utcnow

pytestmark = pytest.mark.integration


class CommandCounter(monitoring.CommandListener):
    """Counts the `find` commands on api_keys (the database reads a key check costs) and the documents of
    each `insert` into audit."""

    def __init__(self):
        self.finds = 0
        self.inserts: list[int] = []

    def started(self, event):
        if event.command_name == "find" and event.command.get("find") == "api_keys":
            self.finds += 1
        if event.command_name == "insert" and event.command.get("insert") == "audit":
            self.inserts.append(len(event.command.get("documents", ())))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def replicas(test_infra, body, count: int = 2):
    """Run `body(stores, listener, redis, database)` with `count` KeyStores on one fresh database."""
    async def main():
        listener = CommandCounter()
        mongo = AsyncMongoClient(test_infra.mongo_url, tz_aware=True, event_listeners=[listener])
        redis = aioredis.Redis.from_url(test_infra.redis_url)
        database = f"{test_infra.namespace}_gateway_{new_id('t')}"
        generation = f"{test_infra.namespace}:{new_id('t')}:keys:generation"
        stores = [KeyStore(mongo, database, redis, generation) for _ in range(count)]
        try:
            await stores[0].setup()
            return await body(stores, listener, redis, mongo[database])
        finally:
            await redis.delete(generation)
            await mongo.drop_database(database)
            await redis.aclose()
            await mongo.close()
    return asyncio.run(main())


def test_a_known_key_is_read_from_the_database_once_then_from_memory(test_infra):
    async def body(stores, listener, _redis, _db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], None)
        for _ in range(5):
            caller = await stores[0].authenticate(created["key"])
        assert caller.key_id == created["id"] and caller.divisions == ("retail",)
        return listener.finds
    assert replicas(test_infra, body) == 1


def test_revoking_on_one_replica_refuses_the_key_at_once_on_the_other(test_infra):
    async def body(stores, listener, _redis, _db):
        a, b = stores
        created = await a.create("recruiter", "recruiter", ["retail"], None)
        await a.authenticate(created["key"])
        await b.authenticate(created["key"])  # both replicas now hold it in memory
        finds = listener.finds
        await a.revoke(created["id"])
        for store in (a, b):
            with pytest.raises(Unauthenticated, match="revoked"):
                await store.authenticate(created["key"])
        return listener.finds - finds
    assert replicas(test_infra, body) == 2  # each replica went back to the database


def test_unknown_keys_are_never_cached(test_infra):
    async def body(stores, listener, _redis, _db):
        for _ in range(3):
            with pytest.raises(Unauthenticated):
                await stores[0].authenticate("hl_not-a-key")
        return listener.finds
    assert replicas(test_infra, body) == 3


def test_a_cached_key_still_expires_on_time(test_infra):
    async def body(stores, _listener, _redis, db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], utcnow() + timedelta(hours=1))
        await stores[0].authenticate(created["key"])
        # Expiry is read from the cached record on every request: move the cached clock past it.
        cached = next(iter(stores[0]._cache.values()))[1]
        cached["expires_at"] = utcnow() - timedelta(seconds=1)
        with pytest.raises(Unauthenticated, match="expired"):
            await stores[0].authenticate(created["key"])
    replicas(test_infra, body)


def test_without_redis_every_check_reads_the_database(test_infra):
    async def body(stores, listener, redis, _db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], None)
        stores[0].redis = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        try:
            for _ in range(3):
                await stores[0].authenticate(created["key"])
        finally:
            await stores[0].redis.aclose()
            stores[0].redis = redis
        return listener.finds, stores[0]._cache
    finds, cache = replicas(test_infra, body)
    assert finds == 3 and cache == {}


def test_the_cache_is_re_read_after_its_lifetime(test_infra, monkeypatch):
    monkeypatch.setattr(keys_module, "CACHE_SECONDS", 0.0)

    async def body(stores, listener, _redis, _db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], None)
        for _ in range(3):
            await stores[0].authenticate(created["key"])
        return listener.finds
    assert replicas(test_infra, body) == 3


# ---------------------------------------------------------------------------------------------- audit

def test_concurrent_audit_writes_share_inserts_and_each_waits_for_its_own(test_infra):
    async def body(_stores, listener, _redis, db):
        writer = GroupWriter(db.audit)
        ids = [new_id("aud") for _ in range(40)]
        await asyncio.gather(*(writer.write([{"_id": i, "n": 1}]) for i in ids))
        stored = {d["_id"] async for d in db.audit.find({})}
        await writer.write([{"_id": "alone"}])  # a lone write goes by itself
        return stored == set(ids), listener.inserts
    all_stored, inserts = replicas(test_infra, body, count=1)
    assert all_stored
    assert sum(inserts) == 41 and len(inserts) < 40 and inserts[-1] == 1


def test_a_failed_audit_batch_fails_every_write_in_it(test_infra):
    async def body(_stores, _listener, _redis, db):
        writer = GroupWriter(db.audit)
        await writer.write([{"_id": "taken"}])
        results = await asyncio.gather(writer.write([{"_id": "taken"}]), writer.write([{"_id": "fresh"}]),
                                       return_exceptions=True)
        return [type(r).__name__ for r in results]
    # One insert_many took both: the duplicate fails it, so neither request may answer as recorded.
    assert replicas(test_infra, body, count=1) == ["BulkWriteError", "BulkWriteError"]


def test_a_writer_that_goes_away_does_not_stop_the_others_records(test_infra):
    async def body(_stores, _listener, _redis, db):
        writer = GroupWriter(db.audit)
        gone = asyncio.ensure_future(writer.write([{"_id": "gone"}]))
        staying = asyncio.ensure_future(writer.write([{"_id": "staying"}]))
        await asyncio.sleep(0)  # both queued for the same batch
        gone.cancel()
        await staying
        return gone.cancelled(), sorted([d["_id"] async for d in db.audit.find({})])
    cancelled, stored = replicas(test_infra, body, count=1)
    assert cancelled and stored == ["gone", "staying"]  # over-recorded, never under-recorded
