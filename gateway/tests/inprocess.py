"""In-process gateways for the gateway's tests: `create_app` against a fake of the services (gateway/testing.py),
no broker and no service, on the session's real Redis and MongoDB (`data_infra`) under a namespace of its own.
Two gateways on one namespace are two replicas of one deployment (they share keys, rate limits, sessions)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from fastapi.testclient import TestClient
from pymongo import MongoClient

from gateway.app import create_app
from gateway.testing import FakeServices
from shared.config import Settings

CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens there: the fake must stand for the services
PEER = ("127.0.0.1", 50000)  # the client address every request comes from, as over a loopback connection


@dataclass
class Gateway:
    client: TestClient
    fake: FakeServices
    settings: Settings

    @property
    def app(self):
        return self.client.app

    def key(self, role: str, divisions: tuple[str, ...] = ("retail",), name: str | None = None) -> tuple[str, str]:
        """A new API key of `role` in the gateway's key store: (key id, secret)."""
        created = self.client.portal.call(self.app.state.gateway.keys.create,
                                          name or f"{role}-{secrets.token_hex(3)}", role,
                                          [] if role == "admin" else list(divisions), None)
        return created["id"], created["key"]

    def as_(self, role: str, divisions: tuple[str, ...] = ("retail",)) -> dict:
        return {"Authorization": f"Bearer {self.key(role, divisions)[1]}"}

    def call(self, fn, *args: Any) -> Any:
        """`await fn(*args)` on the app's event loop (where its MongoDB and Redis clients live)."""
        return self.client.portal.call(fn, *args)


def gateway_settings(data_infra, namespace: str, **overrides: Any) -> Settings:
    return Settings(rabbit_url=CLOSED_BROKER, redis_url=data_infra.redis_url, mongo_url=data_infra.mongo_url,
                    namespace=namespace, **overrides)


@contextmanager
def running(settings: Settings, fake: FakeServices | None = None) -> Iterator[Gateway]:
    """One gateway process, started (lifespan) and stopped around the block."""
    fake = fake if fake is not None else FakeServices()
    with TestClient(create_app(settings, services=fake), follow_redirects=False, client=PEER) as client:
        yield Gateway(client, fake, settings)


def forget(data_infra, namespace: str) -> None:
    """Drop what gateways of `namespace` stored: their database and their Redis keys."""
    with MongoClient(data_infra.mongo_url) as mongo:
        mongo.drop_database(f"{namespace}_gateway")
    r = redis.Redis.from_url(data_infra.redis_url)
    try:
        for key in r.scan_iter(f"{namespace}:*"):
            r.delete(key)
    finally:
        r.close()


@contextmanager
def namespace_of(data_infra, name: str) -> Iterator[str]:
    """A namespace of this session no one else uses, forgotten afterwards."""
    namespace = f"{data_infra.namespace}-{name}-{secrets.token_hex(3)}"
    try:
        yield namespace
    finally:
        forget(data_infra, namespace)


def holding(ids: dict[str, Any]) -> FakeServices:
    """Fake services that hold one object per id of `ids` and answer every RPC about them validly
    (FakeServices.answer_declared)."""
    fake = FakeServices()
    fake.answer_declared(ids)
    return fake
