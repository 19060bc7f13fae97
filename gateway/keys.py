"""API keys: random secrets shown once, stored as SHA-256 hashes in the gateway's own database.

Keys carry 256 bits of randomness, so a fast hash is enough (no password-style stretching needed), and
lookup by hash needs no per-request scan. Revocation is a field checked on every request, so it takes
effect at once on every gateway replica.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient

from shared.contracts.caller import ALL_DIVISIONS, Caller
from shared.errors import NotFound, Unauthenticated
from shared.ids import new_id
from shared.storage import decode_cursor, encode_cursor
from shared.timeutil import iso, utcnow

BOOTSTRAP_KEY_ID = "key_bootstrap_admin"


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
        "created_at": iso(doc.get("created_at")),
        "expires_at": iso(doc.get("expires_at")),
        "last_used_at": iso(doc.get("last_used_at")),
        "revoked_at": iso(doc.get("revoked_at")),
    }


class KeyStore:
    def __init__(self, client: AsyncMongoClient, database: str):
        self.client = client
        self.keys = client[database].api_keys

    async def setup(self) -> None:
        await self.keys.create_index("hash", unique=True)

    async def bootstrap_admin(self, key: str | None) -> str | None:
        """Make HIRELOOP_ADMIN_KEY valid, or generate an admin key when none exists. Returns a new key."""
        if key:
            await self.keys.update_one(
                {"_id": BOOTSTRAP_KEY_ID},
                {"$set": {"hash": hash_key(key), "name": "bootstrap-admin", "role": "admin",
                          "divisions": [], "revoked_at": None},
                 "$setOnInsert": {"created_at": utcnow()}},
                upsert=True,
            )
            return None
        if await self.keys.find_one({"role": "admin", "revoked_at": None}):
            return None
        generated = generate_key()
        await self.keys.insert_one({"_id": BOOTSTRAP_KEY_ID, "hash": hash_key(generated), "name": "bootstrap-admin",
                                    "role": "admin", "divisions": [], "created_at": utcnow(), "revoked_at": None})
        return generated

    async def create(self, name: str, role: str, divisions: list[str], expires_at: datetime | None) -> dict:
        key = generate_key()
        doc = {"_id": new_id("key"), "hash": hash_key(key), "name": name, "role": role,
               "divisions": sorted(set(divisions)), "created_at": utcnow(), "expires_at": expires_at,
               "revoked_at": None, "last_used_at": None}
        await self.keys.insert_one(doc)
        return {**_view(doc), "key": key}

    async def revoke(self, key_id: str) -> None:
        result = await self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utcnow()}})
        if result.matched_count == 0:
            raise NotFound(f"no active API key {key_id}")

    async def list(self, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page in id order, and the cursor of the next page (None on the last one)."""
        after = decode_cursor(cursor)
        query = {"_id": {"$gt": after}} if after else {}
        docs = [d async for d in self.keys.find(query).sort("_id", 1).limit(limit + 1)]
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return [_view(d) for d in docs[:limit]], next_cursor

    async def authenticate(self, key: str) -> Caller:
        doc = await self.keys.find_one({"hash": hash_key(key)})
        if doc is None or doc.get("revoked_at") is not None:
            raise Unauthenticated("unknown or revoked API key")
        expires = doc.get("expires_at")
        now = utcnow()
        if expires is not None and expires <= now:
            raise Unauthenticated("API key expired")
        last = doc.get("last_used_at")
        if last is None or (now - last).total_seconds() > 60:  # a write per minute per key, not per request
            await self.keys.update_one({"_id": doc["_id"]}, {"$set": {"last_used_at": now}})
        divisions = (ALL_DIVISIONS,) if doc["role"] == "admin" else tuple(doc.get("divisions", []))
        return Caller(key_id=doc["_id"], name=doc["name"], role=doc["role"], divisions=divisions)
