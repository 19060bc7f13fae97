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


def replicas(data_infra, body, count: int = 2):
    """Run `body(stores, listener, redis, database)` with `count` KeyStores on one fresh database."""
    async def main():
        listener = CommandCounter()
        mongo = AsyncMongoClient(data_infra.mongo_url, tz_aware=True, event_listeners=[listener])
        redis = aioredis.Redis.from_url(data_infra.redis_url)
        database = f"{data_infra.namespace}_gateway_{new_id('t')}"
        generation = f"{data_infra.namespace}:{new_id('t')}:keys:generation"
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


def test_a_known_key_is_read_from_the_database_once_then_from_memory(data_infra):
    async def body(stores, listener, _redis, _db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], None)
        for _ in range(5):
            caller = await stores[0].authenticate(created["key"])
        assert caller.key_id == created["id"] and caller.divisions == ("retail",)
        return listener.finds
    assert replicas(data_infra, body) == 1


def test_revoking_on_one_replica_refuses_the_key_at_once_on_the_other(data_infra):
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
    assert replicas(data_infra, body) == 2  # each replica went back to the database


def test_unknown_keys_are_never_cached(data_infra):
    async def body(stores, listener, _redis, _db):
        for _ in range(3):
            with pytest.raises(Unauthenticated):
                await stores[0].authenticate("hl_not-a-key")
        return listener.finds
    assert replicas(data_infra, body) == 3


def test_a_cached_key_still_expires_on_time(data_infra):
    async def body(stores, _listener, _redis, db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], utcnow() + timedelta(hours=1))
        await stores[0].authenticate(created["key"])
        # Expiry is read from the cached record on every request: move the cached clock past it.
        cached = next(iter(stores[0]._cache.values()))[1]
        cached["expires_at"] = utcnow() - timedelta(seconds=1)
        with pytest.raises(Unauthenticated, match="expired"):
            await stores[0].authenticate(created["key"])
    replicas(data_infra, body)


def test_without_redis_every_check_reads_the_database(data_infra):
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
    finds, cache = replicas(data_infra, body)
    assert finds == 3 and cache == {}


def test_the_cache_is_re_read_after_its_lifetime(data_infra, monkeypatch):
    monkeypatch.setattr(keys_module, "CACHE_SECONDS", 0.0)

    async def body(stores, listener, _redis, _db):
        created = await stores[0].create("recruiter", "recruiter", ["retail"], None)
        for _ in range(3):
            await stores[0].authenticate(created["key"])
        return listener.finds
    assert replicas(data_infra, body) == 3


# ---------------------------------------------------------------------------------------------- bootstrap

async def works(store, key: str) -> bool:
    try:
        await store.authenticate(key)
        return True
    except Unauthenticated:
        return False


def test_a_revoked_bootstrap_key_stays_revoked_when_any_replica_starts_again(data_infra, caplog):
    async def body(stores, _listener, _redis, db):
        a, b = stores
        await a.bootstrap_admin("hl_boot_one")
        assert await works(b, "hl_boot_one")
        record = await db.api_keys.find_one({"bootstrap": True})
        await a.revoke(record["_id"])
        with caplog.at_level("ERROR", logger="hireloop.gateway.keys"):
            for store in (a, b, a):  # restarts, and a new replica, with the same configuration
                assert await store.bootstrap_admin("hl_boot_one") is None
        assert not await works(a, "hl_boot_one") and not await works(b, "hl_boot_one")
        return await db.api_keys.count_documents({}), caplog.text
    count, logged = replicas(data_infra, body)
    assert count == 1 and logged.count("HIRELOOP_ADMIN_KEY is revoked") == 3


def test_a_new_bootstrap_key_revokes_the_previous_one_once_and_an_old_replica_cannot_revive_it(data_infra):
    async def body(stores, _listener, _redis, db):
        old, new = stores
        await old.bootstrap_admin("hl_boot_old")
        assert await works(new, "hl_boot_old")  # cached on the replica that rotates next
        await new.bootstrap_admin("hl_boot_new")
        assert await works(new, "hl_boot_new") and not await works(new, "hl_boot_old")
        assert not await works(old, "hl_boot_old")  # every replica, at once
        await old.bootstrap_admin("hl_boot_old")  # a replica still configured with the old key restarts
        return [await works(s, k) for s in (old, new) for k in ("hl_boot_old", "hl_boot_new")]
    assert replicas(data_infra, body) == [False, True, False, True]


def test_two_replicas_starting_with_one_new_key_make_one_record(data_infra):
    async def body(stores, _listener, _redis, db):
        await asyncio.gather(*(s.bootstrap_admin("hl_boot_same") for s in stores))
        return await db.api_keys.count_documents({"revoked_at": None}), await works(stores[0], "hl_boot_same")
    assert replicas(data_infra, body, count=3) == (1, True)


def test_of_two_new_bootstrap_keys_the_later_start_wins(data_infra):
    async def body(stores, _listener, _redis, db):
        a, b = stores
        await a.bootstrap_admin("hl_boot_first")
        await asyncio.sleep(0.01)
        await b.bootstrap_admin("hl_boot_second")
        return await works(a, "hl_boot_first"), await works(a, "hl_boot_second")
    assert replicas(data_infra, body) == (False, True)


def test_the_record_of_the_first_release_keeps_its_revocation_and_is_rotated_like_the_others(data_infra):
    from gateway.keys import BOOTSTRAP_KEY_ID, hash_key

    async def body(stores, _listener, _redis, db):
        store = stores[0]
        # As `bootstrap_admin` wrote it before: one record under a fixed id, here revoked.
        await db.api_keys.insert_one({"_id": BOOTSTRAP_KEY_ID, "hash": hash_key("hl_boot_legacy"),
                                      "name": "bootstrap-admin", "role": "admin", "divisions": [],
                                      "created_at": utcnow(), "revoked_at": utcnow()})
        await store.bootstrap_admin("hl_boot_legacy")
        revoked_stays = not await works(store, "hl_boot_legacy")
        await db.api_keys.update_one({"_id": BOOTSTRAP_KEY_ID}, {"$set": {"revoked_at": None}})
        await store._changed()
        await store.bootstrap_admin("hl_boot_next")  # rotation revokes the legacy record too
        return revoked_stays, await works(store, "hl_boot_legacy"), await works(store, "hl_boot_next")
    assert replicas(data_infra, body) == (True, False, True)


def test_is_active_follows_revocation_without_recording_a_use(data_infra):
    async def body(stores, _listener, _redis, db):
        a, b = stores
        created = await a.create("viewer", "recruiter", ["retail"], None)
        assert await b.is_active(created["key"]) and not await b.is_active("hl_unknown")
        await a.revoke(created["id"])
        return await b.is_active(created["key"]), (await db.api_keys.find_one({"_id": created["id"]}))["last_used_at"]
    assert replicas(data_infra, body) == (False, None)


# ---------------------------------------------------------------------------------------------- audit

def test_concurrent_audit_writes_share_inserts_and_each_waits_for_its_own(data_infra):
    async def body(_stores, listener, _redis, db):
        writer = GroupWriter(db.audit)
        ids = [new_id("aud") for _ in range(40)]
        await asyncio.gather(*(writer.write([{"_id": i, "n": 1}]) for i in ids))
        stored = {d["_id"] async for d in db.audit.find({})}
        await writer.write([{"_id": "alone"}])  # a lone write goes by itself
        return stored == set(ids), listener.inserts
    all_stored, inserts = replicas(data_infra, body, count=1)
    assert all_stored
    assert sum(inserts) == 41 and len(inserts) < 40 and inserts[-1] == 1


def test_a_failed_audit_batch_fails_every_write_in_it(data_infra):
    async def body(_stores, _listener, _redis, db):
        writer = GroupWriter(db.audit)
        await writer.write([{"_id": "taken"}])
        results = await asyncio.gather(writer.write([{"_id": "taken"}]), writer.write([{"_id": "fresh"}]),
                                       return_exceptions=True)
        return [type(r).__name__ for r in results]
    # One insert_many took both: the duplicate fails it, so neither request may answer as recorded.
    assert replicas(data_infra, body, count=1) == ["BulkWriteError", "BulkWriteError"]


def test_a_writer_that_goes_away_does_not_stop_the_others_records(data_infra):
    async def body(_stores, _listener, _redis, db):
        writer = GroupWriter(db.audit)
        gone = asyncio.ensure_future(writer.write([{"_id": "gone"}]))
        staying = asyncio.ensure_future(writer.write([{"_id": "staying"}]))
        await asyncio.sleep(0)  # both queued for the same batch
        gone.cancel()
        await staying
        return gone.cancelled(), sorted([d["_id"] async for d in db.audit.find({})])
    cancelled, stored = replicas(data_infra, body, count=1)
    assert cancelled and stored == ["gone", "staying"]  # over-recorded, never under-recorded
