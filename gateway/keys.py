"""API keys: random secrets shown once, stored as SHA-256 hashes in the gateway's own database.

Keys carry 256 bits of randomness, so a fast hash is enough (no password-style stretching needed), and
lookup by hash needs no per-request scan.

Each gateway process keeps the keys it has seen in memory, so a request costs no database read (the read
path's profile had the key look-up as a third of the gateway's database round trips). Revocation still
takes effect at once on every replica: whatever changes a key record also increments a generation counter
in Redis, every request reads that counter (one Redis GET), and a process whose cached generation differs
drops its cache before it answers. When Redis cannot be read the key is looked up in the database, as
without a cache. Unknown keys are never cached. Expiry is checked on every request from the cached record.

A key may belong to a user (`user_id`, docs/decisions/008-users.md) or, without one, to the named service
account it was made for. A user's console sign-in is a key of its own (`session: true`, expiring with the
session, not listed): deactivating the user revokes every key of theirs in one write, so each of their
sessions and API keys stops working at once, on every replica, by the generation counter above.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from shared.contracts.caller import ALL_DIVISIONS, Caller
from shared.errors import NotFound, Unauthenticated
from shared.ids import new_id
from shared.storage import decode_cursor, encode_cursor
from shared.timeutil import iso, utcnow

log = logging.getLogger("hireloop.gateway.keys")
BOOTSTRAP_KEY_ID = "key_bootstrap_admin"
# A cached record is read again after this long even when the generation did not move (a record edited
# in the database by hand is seen within it), and the cache holds at most this many keys.
CACHE_SECONDS = 60.0
CACHE_MAX_KEYS = 10_000
REDIS_TIMEOUT_SECONDS = 1.0


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return "hl_" + secrets.token_urlsafe(32)


def _view(doc: dict) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "role": doc["role"],
        "divisions": doc.get("divisions", []),
        "email": doc.get("email"),
        "created_at": iso(doc.get("created_at")),
        "expires_at": iso(doc.get("expires_at")),
        "last_used_at": iso(doc.get("last_used_at")),
        "revoked_at": iso(doc.get("revoked_at")),
        "user_id": doc.get("user_id"),
    }


class KeyStore:
    def __init__(self, client: AsyncMongoClient, database: str, redis, generation_key: str):
        self.client = client
        self.keys = client[database].api_keys
        self.redis = redis
        self.generation_key = generation_key
        self._cache: dict[str, tuple[float, dict]] = {}  # key hash -> (loaded at, monotonic; record)
        self._cached_generation: bytes | None = None

    async def _changed(self) -> None:
        """After any change to a key record: every replica's cache is stale from now on."""
        self._cache.clear()
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await self.redis.incr(self.generation_key)
        except (RedisError, OSError, TimeoutError) as exc:
            # Other replicas may now answer with a revoked key until they read their database again
            # (CACHE_SECONDS at most): say so loudly.
            log.error("key change not announced to other gateway replicas",
                      extra={"exc_type": type(exc).__name__, "stale_for_seconds": CACHE_SECONDS})

    async def _generation(self) -> bytes | None:
        """The current generation, or None when Redis cannot say (then nothing cached may be trusted)."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                return await self.redis.get(self.generation_key) or b"0"
        except (RedisError, OSError, TimeoutError):
            return None

    async def _record(self, hashed: str) -> dict | None:
        generation = await self._generation()
        if generation is None or generation != self._cached_generation:
            self._cache.clear()
            self._cached_generation = generation
        now = time.monotonic()
        cached = self._cache.get(hashed)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        doc = await self.keys.find_one({"hash": hashed})
        if doc is not None and generation is not None:
            if len(self._cache) >= CACHE_MAX_KEYS:
                self._cache.clear()
            self._cache[hashed] = (now, doc)
        return doc

    async def setup(self) -> None:
        await self.keys.create_index("hash", unique=True)
        await self.keys.create_index("user_id", sparse=True)
        # Sign-in keys are gone a day after they expire (API keys stay listed, expired, until revoked).
        await self.keys.create_index("purge_at", expireAfterSeconds=0, sparse=True)

    async def bootstrap_admin(self, key: str | None) -> str | None:
        """Make HIRELOOP_ADMIN_KEY valid, or generate an admin key when none exists. Returns a new key.

        Revocation lasts: a bootstrap key is a record like any other, found by its hash, and a start never
        touches `revoked_at` of a key it finds, so a revoked HIRELOOP_ADMIN_KEY stays revoked on every restart
        and every new replica (the start says so in the log). Rotation: the first start with a key not seen
        before inserts it and revokes the previous bootstrap keys, once; a replica still configured with an
        old key cannot bring it back, it only finds it revoked.
        """
        if key:
            hashed = hash_key(key)
            found = await self.keys.find_one({"hash": hashed})
            if found is None:
                doc = {"_id": f"{BOOTSTRAP_KEY_ID}_{hashed[:12]}", "hash": hashed, "name": "bootstrap-admin",
                       "role": "admin", "divisions": [], "bootstrap": True, "created_at": utcnow(),
                       "revoked_at": None, "last_used_at": None}
                try:
                    await self.keys.insert_one(doc)
                except DuplicateKeyError:  # another replica inserted the same key at the same moment
                    found = await self.keys.find_one({"hash": hashed})
                else:
                    rotated = await self.keys.update_many(
                        # Only older ones: two replicas started with two new keys at once keep the newer.
                        {"_id": {"$ne": doc["_id"]}, "revoked_at": None, "created_at": {"$lte": doc["created_at"]},
                         "$or": [{"bootstrap": True}, {"_id": BOOTSTRAP_KEY_ID}]},
                        {"$set": {"revoked_at": utcnow()}})
                    if rotated.modified_count:
                        log.warning("HIRELOOP_ADMIN_KEY changed: the previous bootstrap admin key is revoked",
                                    extra={"revoked": rotated.modified_count})
                    await self._changed()
            if found is not None and found.get("revoked_at") is not None:
                log.error("HIRELOOP_ADMIN_KEY is revoked (since %s) and stays revoked: set a new HIRELOOP_ADMIN_KEY "
                          "to get a bootstrap admin key (docs/security.md)", iso(found["revoked_at"]))
            elif found is not None and found.get("role") != "admin":
                log.error("HIRELOOP_ADMIN_KEY is an existing %s key, not an admin key", found.get("role"))
            return None
        if await self.keys.find_one({"role": "admin", "revoked_at": None}):
            return None
        generated = generate_key()
        await self.keys.insert_one({"_id": f"{BOOTSTRAP_KEY_ID}_{hash_key(generated)[:12]}",
                                    "hash": hash_key(generated), "name": "bootstrap-admin", "role": "admin",
                                    "divisions": [], "bootstrap": True, "created_at": utcnow(), "revoked_at": None})
        return generated

    async def create(self, name: str, role: str, divisions: list[str], expires_at: datetime | None,
                     email: str | None = None, user_id: str | None = None, session: bool = False) -> dict:
        key = generate_key()
        doc = {"_id": new_id("key"), "hash": hash_key(key), "name": name, "role": role,
               "divisions": sorted(set(divisions)), "email": email, "created_at": utcnow(),
               "expires_at": expires_at, "revoked_at": None, "last_used_at": None}
        if user_id:
            doc["user_id"] = user_id
        if session:
            doc["session"] = True
            doc["purge_at"] = expires_at + timedelta(days=1) if expires_at else None
        await self.keys.insert_one(doc)
        return {**_view(doc), "key": key}

    async def revoke_user(self, user_id: str, sessions_only: bool = False) -> int:
        """Revoke every key of the user (or only their console sign-ins, after a password change); every
        replica refuses them from the next request on. Returns how many were revoked."""
        query: dict[str, Any] = {"user_id": user_id, "revoked_at": None}
        if sessions_only:
            query["session"] = True
        result = await self.keys.update_many(query, {"$set": {"revoked_at": utcnow()}})
        await self._changed()
        return result.modified_count

    async def revoke(self, key_id: str) -> None:
        result = await self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utcnow()}})
        if result.matched_count == 0:
            raise NotFound(f"no active API key {key_id}")
        await self._changed()

    async def list(self, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page in id order, and the cursor of the next page (None on the last one)."""
        after = decode_cursor(cursor)
        query: dict[str, Any] = {"session": {"$ne": True}}  # sign-ins are not API keys an admin manages
        if after:
            query["_id"] = {"$gt": after}
        docs = [d async for d in self.keys.find(query).sort("_id", 1).limit(limit + 1)]
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return [_view(d) for d in docs[:limit]], next_cursor

    async def interviewers_of(self, division: str, names: list[str]) -> dict[str, str | None]:
        """Which of `names` are interviewers of `division` (the name of an active, i.e. not revoked and not
        expired, interviewer key of that division), each with its email (None when its keys name none; of
        several active keys of one name, one that has an address). The keys are today's only directory of
        interviewers."""
        found = self.keys.find({"role": "interviewer", "name": {"$in": names}, "divisions": division,
                                "revoked_at": None}, {"name": 1, "expires_at": 1, "email": 1})
        now = utcnow()
        known: dict[str, str | None] = {}
        async for d in found:
            if d.get("expires_at") is None or d["expires_at"] > now:
                known[d["name"]] = known.get(d["name"]) or d.get("email")
        return known

    async def is_active(self, key: str) -> bool:
        """Whether the key still works (not revoked, not expired), for what stays open after one check (a
        console stream): cheap, as every request's check is (one Redis GET of the generation while no key
        changed), and it records no use."""
        doc = await self._record(hash_key(key))
        if doc is None or doc.get("revoked_at") is not None:
            return False
        expires = doc.get("expires_at")
        return expires is None or expires > utcnow()

    async def authenticate(self, key: str) -> Caller:
        doc = await self._record(hash_key(key))
        if doc is None or doc.get("revoked_at") is not None:
            raise Unauthenticated("unknown or revoked API key")
        expires = doc.get("expires_at")
        now = utcnow()
        if expires is not None and expires <= now:
            raise Unauthenticated("API key expired")
        last = doc.get("last_used_at")
        if last is None or (now - last).total_seconds() > 60:  # a write per minute per key, not per request
            await self.keys.update_one({"_id": doc["_id"]}, {"$set": {"last_used_at": now}})
            doc["last_used_at"] = now  # the cached record too: the next write is a minute away again
        divisions = (ALL_DIVISIONS,) if doc["role"] == "admin" else tuple(doc.get("divisions", []))
        return Caller(key_id=doc["_id"], name=doc["name"], role=doc["role"], divisions=divisions)
