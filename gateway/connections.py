"""The connections the routes share, one set per process: MongoDB (API keys, users, the audit log), Redis
(rate limits, idempotency, console sessions, sign-in lockouts). The services are reached through their own
seam (gateway/rpc.py)."""

from __future__ import annotations

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from gateway import metrics
from gateway.audit import AuditLog
from gateway.divisions import RegisteredDivisions
from gateway.keys import KeyStore
from gateway.ratelimit import RateLimiter
from gateway.signin import Throttle
from gateway.users import UserStore
from shared.config import Settings
from shared.metrics import count_mongo_commands


class Gateway:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.mongo = AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000,
                                      event_listeners=[count_mongo_commands("gateway", metrics.REGISTRY)])
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.keys = KeyStore(self.mongo, settings.database_name("gateway"), self.redis,
                             settings.redis_key("keys", "generation"))
        self.users = UserStore(self.mongo, settings.database_name("gateway"))
        self.throttle = Throttle(self.redis, settings.redis_key())
        self.audit = AuditLog(self.mongo, settings.database_name("gateway"))
        self.limiter = RateLimiter(self.redis, settings)
        self.divisions = RegisteredDivisions()  # gateway/divisions.py: what keys and policies may name

    async def start(self) -> None:
        await self.keys.setup()
        await self.users.setup()
        await self.audit.setup()
        generated = await self.keys.bootstrap_admin(self.settings.admin_key or None)  # HIRELOOP_ADMIN_KEY
        if generated:
            print(f"hireloop: generated admin API key (shown once): {generated}", flush=True)

    async def stop(self) -> None:
        await self.redis.aclose()
        await self.mongo.close()
