"""Isolated infrastructure for one test session: its own RabbitMQ vhost, its own database names
(namespace), its own Redis key prefix, and the embedded MongoDB default unless MONGO_URL is given.
Everything is removed at the end.

RabbitMQ and Redis are the machine's (RABBIT_URL / REDIS_URL, defaults 127.0.0.1). A vhost is created
with `rabbitmqctl` or, when RABBIT_MGMT_URL is set, the management API. Where a Docker engine runs and no
URLs are given, testcontainers provides all three instead.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from infra.embedded_mongo import EmbeddedMongo


def _docker_engine_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, parts.fragment))


class VhostAdmin:
    def __init__(self, amqp_url: str):
        self.amqp_url = amqp_url
        self.mgmt = os.environ.get("RABBIT_MGMT_URL")
        parts = urlsplit(amqp_url)
        self.user = parts.username or "guest"
        self.password = parts.password or "guest"

    def _api(self, method: str, path: str, body: dict | None = None) -> None:
        req = urllib.request.Request(self.mgmt.rstrip("/") + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        req.add_header("content-type", "application/json")
        urllib.request.urlopen(req, timeout=10).read()

    def create(self, vhost: str) -> None:
        if self.mgmt:
            self._api("PUT", f"/api/vhosts/{quote(vhost, safe='')}")
            self._api("PUT", f"/api/permissions/{quote(vhost, safe='')}/{self.user}",
                      {"configure": ".*", "write": ".*", "read": ".*"})
            return
        if not shutil.which("rabbitmqctl"):
            raise RuntimeError("cannot create a test vhost: no rabbitmqctl and no RABBIT_MGMT_URL")
        # One call (each rabbitmqctl starts an Erlang VM: a second or more) for the vhost and our permissions.
        self.import_definitions({"vhosts": [{"name": vhost}], "permissions": [
            {"user": self.user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}]})

    def import_definitions(self, definitions: dict) -> None:
        """Import a RabbitMQ definitions document (the path production takes: infra/k8s, compose production)."""
        if self.mgmt:
            self._api("POST", "/api/definitions", definitions)
            return
        # From stdin: rabbitmqctl may run as another user, who could not read our temporary file.
        subprocess.run(["rabbitmqctl", "-q", "import_definitions"], input=json.dumps(definitions).encode(),
                       check=True, capture_output=True)

    def delete(self, vhost: str) -> None:
        try:
            if self.mgmt:
                self._api("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")
            else:
                subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True)
        except Exception:  # noqa: BLE001 - best effort clean-up
            pass


@dataclass
class TestInfra:
    rabbit_url: str
    redis_url: str
    mongo_url: str
    namespace: str
    cleanups: list = field(default_factory=list)
    containers: bool = False  # Redis and MongoDB run in containers (testcontainers): RabbitMQ too

    def env(self) -> dict[str, str]:
        return {
            "RABBIT_URL": self.rabbit_url,
            "REDIS_URL": self.redis_url,
            "MONGO_URL": self.mongo_url,
            "HIRELOOP_NAMESPACE": self.namespace,
        }

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass


def drop_databases(mongo_url: str, namespace: str) -> None:
    from pymongo import MongoClient

    with MongoClient(mongo_url) as client:
        for name in client.list_database_names():
            if name.startswith(namespace + "_"):
                client.drop_database(name)


def clear_redis(redis_url: str, namespace: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(f"{namespace}:*"):
        r.delete(key)
    r.close()


def start_data_infra() -> TestInfra:
    """Redis and MongoDB for one test session, with no broker (`rabbit_url` empty): what the gateway's tests
    need, which run against a fake of the services (gateway/testing.py). `add_broker` adds a vhost."""
    run_id = secrets.token_hex(4)
    namespace = f"t{run_id}"
    redis_url = os.environ.get("REDIS_URL")
    mongo = os.environ.get("MONGO_URL")
    cleanups: list = []
    containers = False

    if not (os.environ.get("RABBIT_URL") or redis_url or mongo) and _docker_engine_available():  # pragma: no cover
        # Declared in the dev extras; imported here, as only a machine with a Docker engine uses it.
        from testcontainers.community.mongodb import MongoDbContainer
        from testcontainers.community.redis import RedisContainer

        rd, mg = RedisContainer("redis:7"), MongoDbContainer("mongo:7")
        for c in (rd, mg):
            c.start()
            cleanups.append(c.stop)
        redis_url = f"redis://{rd.get_container_host_ip()}:{rd.get_exposed_port(6379)}/0"
        mongo = mg.get_connection_url()
        containers = True

    redis_url = redis_url or "redis://127.0.0.1:6379/0"
    if not mongo:
        embedded = EmbeddedMongo()
        mongo = embedded.start()
        cleanups.append(embedded.stop)
    else:
        cleanups.append(lambda url=mongo: drop_databases(url, namespace))

    cleanups.append(lambda: clear_redis(redis_url, namespace))

    return TestInfra("", redis_url, mongo, namespace, cleanups, containers)


def add_broker(infra: TestInfra) -> TestInfra:
    """`infra` with a RabbitMQ vhost of its own; closing the result removes the vhost (and only that)."""
    rabbit = os.environ.get("RABBIT_URL")
    cleanups: list = []
    if not rabbit and infra.containers:  # pragma: no cover - no engine here
        from testcontainers.community.rabbitmq import RabbitMqContainer

        rc = RabbitMqContainer("rabbitmq:3.13")
        rc.start()
        cleanups.append(rc.stop)
        params = rc.get_connection_params()
        rabbit = f"amqp://guest:guest@{params.host}:{params.port}/"

    rabbit = rabbit or "amqp://guest:guest@127.0.0.1:5672/"
    vhost = f"hireloop-test-{infra.namespace.removeprefix('t')}"
    admin = VhostAdmin(rabbit)
    admin.create(vhost)
    cleanups.append(lambda: admin.delete(vhost))
    return TestInfra(_with_vhost(rabbit, vhost), infra.redis_url, infra.mongo_url, infra.namespace, cleanups)


def start_test_infra() -> TestInfra:
    """Everything one session's tests use: Redis, MongoDB and a RabbitMQ vhost (bench/ uses this too)."""
    data = start_data_infra()
    try:
        broker = add_broker(data)
    except BaseException:
        data.close()
        raise
    return TestInfra(broker.rabbit_url, data.redis_url, data.mongo_url, data.namespace,
                     data.cleanups + broker.cleanups)
