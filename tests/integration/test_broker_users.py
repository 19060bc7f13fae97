"""Least privilege on the broker (issue 15), on the machine's real RabbitMQ: the topology imported by an admin,
then every broker user made with exactly the permissions the manifests declare (shared.bus.topology
.broker_users(), which infra/k8s and docker-compose are checked against).

- A service user can do its own work: sourcing and screening run as real processes under their own users
  (BROKER_TOPOLOGY=predeclared) with the gateway's user calling them; an application goes through screening
  (events both ways, RPC requests and replies, the outbox relay) and a screening override checks screening's
  own copy of the status, fed by sourcing's `application_status_changed` on screening's inbox. A service may
  call the services it calls (interview_feedback -> notification) under restricted topic permissions.
- It cannot publish to another service's events exchange (finding 1's attack), park into another's wait
  queue, reach a queue through the default exchange, call a service it does not call, read another's
  queue, bind a queue to another service's RPC requests (finding 2's sniffing), or declare or delete the
  shared topology.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import amqp
import pytest

from shared.bus import topology
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.contracts.screening import Override
from shared.contracts.sourcing import CreateRequisition, GetApplication, SubmitApplication
from shared.ids import new_id
from tests.support.divisions import fixed_env
from tests.support.event_keys import session_keys
from tests.support.infra import VhostAdmin, _with_vhost

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not shutil.which("rabbitmqctl"), reason="makes broker users with rabbitmqctl")]
ROOT = Path(__file__).resolve().parents[2]


def _password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256, as a definitions document carries a password: base64 of a
    4-byte salt followed by SHA-256(salt + password)."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


@pytest.fixture(scope="module")
def broker(test_infra):
    """A vhost with the imported topology and every broker user; yields {user: amqp url}.

    One `rabbitmqctl import_definitions` makes it all (vhost, topology, users, permissions) and one
    `rabbitmqctl eval` removes the users: each rabbitmqctl call starts an Erlang VM, a second or more."""
    rabbit_url = Settings.from_env().rabbit_url
    admin = VhostAdmin(rabbit_url)
    vhost = f"hireloop-users-{new_id('t')}"
    base = urlsplit(rabbit_url)
    host = f"{base.hostname}:{base.port or 5672}"
    # users are per broker, not per vhost: one set per test run, named after the vhost
    names = {user.name: f"{vhost}-{user.name}" for user in topology.broker_users()}
    passwords = {user: secrets.token_hex(16) for user in names}
    users = topology.user_definitions(vhost)
    definitions = {
        **topology.definitions(vhost),
        "users": [{"name": names[u], "password_hash": _password_hash(passwords[u]),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ""} for u in names],
        "permissions": [{"user": admin.user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"},
                        *({**p, "user": names[p["user"]]} for p in users["permissions"])],
        "topic_permissions": [{**t, "user": names[t["user"]]} for t in users["topic_permissions"]],
    }
    urls = {user: f"amqp://{quote(name)}:{passwords[user]}@{host}/{quote(vhost, safe='')}"
            for user, name in names.items()}
    urls["admin"] = _with_vhost(rabbit_url, vhost)
    try:
        admin.import_definitions(definitions)
        yield urls
    finally:
        listed = ", ".join(f'<<"{name}">>' for name in names.values())
        subprocess.run(["rabbitmqctl", "-q", "eval", "lists:foreach(fun(U) -> rabbit_auth_backend_internal:"
                        f'delete_user(U, <<"hireloop-tests">>) end, [{listed}]).'], check=False, capture_output=True)
        admin.delete(vhost)


def _connect(url: str) -> amqp.Connection:
    parts = urlsplit(url)
    from urllib.parse import unquote

    conn = amqp.Connection(f"{parts.hostname}:{parts.port}", userid=unquote(parts.username),
                           password=parts.password, virtual_host=unquote(parts.path[1:]), confirm_publish=True)
    conn.connect()
    return conn


def attempt(url: str, action) -> str:
    """Run `action(channel)` on a fresh connection as that user: "ok", or the broker's refusal."""
    conn = _connect(url)
    try:
        action(conn.channel())
        return "ok"
    except amqp.exceptions.AccessRefused:
        return "refused"
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - a refused operation may have closed it already
            pass


def publish(exchange: str, routing_key: str):
    return lambda ch: ch.basic_publish(amqp.Message(b"{}", content_type="application/json"), exchange=exchange,
                                       routing_key=routing_key)


def get(queue: str):
    return lambda ch: ch.basic_get(queue)


def reply_queue(client: str, binding_key: str | None = None):
    def declare(ch):
        name = f"rpc.reply-{client}-{uuid.uuid4()}"
        ch.queue_declare(name, auto_delete=True, arguments={"x-expires": 300000})
        ch.queue_bind(name, topology.RPC_EXCHANGE, binding_key or str(uuid.uuid4()))
    return declare


def _take(url: str, queue: str, body: str, timeout: float = 15) -> bool:
    """Wait for the message `body` in `queue` and take it (other messages go back)."""
    conn = _connect(url)
    try:
        channel = conn.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = channel.basic_get(queue)
            if message is None:
                time.sleep(0.2)
                continue
            if message.body.decode() == body:
                channel.basic_ack(message.delivery_tag)
                return True
            channel.basic_reject(message.delivery_tag, requeue=True)
        return False
    finally:
        conn.close()


def live_queue(event_type: str):
    def declare(ch):
        name = f"live-gateway-{uuid.uuid4()}"
        ch.queue_declare(name, exclusive=True)
        ch.queue_bind(name, "sourcing.events", event_type)
    return declare


def test_a_service_user_may_do_its_own_work_on_the_broker(broker):
    screening = broker["screening"]
    reply = str(uuid.uuid4())
    allowed = {
        "publish its own event": attempt(screening, publish("screening.events", "application_screened")),
        "answer an RPC": attempt(screening, publish(topology.RPC_EXCHANGE, reply)),
        "dead-letter": attempt(screening, publish(topology.DEAD_LETTER_EXCHANGE, "screening")),
        "park its own event": attempt(screening, publish(topology.WAIT_EXCHANGE, "screening")),
        "read its RPC queue": attempt(screening, get("rpc-screening")),
        "read its inbox": attempt(screening, get("screening.inbox")),
        "read its dead letters": attempt(screening, get("screening.dlq")),
        "declare its reply queue": attempt(screening, reply_queue("screening")),
        "declare its health probe's reply queue": attempt(screening, reply_queue("healthcheck-screening")),
    }
    assert allowed == {k: "ok" for k in allowed}
    assert attempt(broker["interview_feedback"], publish(topology.RPC_EXCHANGE, "notification.get_policy")) == "ok"
    # A parked event goes hireloop.wait -> screening.wait and, WAIT_SECONDS later, back to screening.inbox.
    marker = f"parked-{uuid.uuid4()}"
    park = lambda ch: ch.basic_publish(amqp.Message(marker.encode()), exchange=topology.WAIT_EXCHANGE,  # noqa: E731
                                       routing_key="screening")
    assert attempt(screening, park) == "ok"
    assert _take(broker["admin"], "screening.inbox", marker)
    gateway = broker["gateway"]
    assert attempt(gateway, publish(topology.RPC_EXCHANGE, "notification.put_policy")) == "ok"
    assert attempt(gateway, reply_queue("gateway")) == "ok"
    # the console's live board hears every status change, whatever its transition key
    assert attempt(gateway, live_queue(topology.every_key(topology.STATUS_CHANGED))) == "ok"
    # sourcing publishes status changes with their transition keys
    for key in ("application_status_changed.none.received", "application_status_changed.received.shortlisted"):
        assert attempt(broker["sourcing"], publish("sourcing.events", key)) == "ok", key
    # /metrics reads queue depths with passive declarations
    assert attempt(gateway, lambda ch: ch.queue_declare("rpc-sourcing", passive=True)) == "ok"
    assert attempt(gateway, lambda ch: ch.queue_declare("sourcing.dlq", passive=True)) == "ok"


def test_a_service_user_cannot_touch_what_is_not_its_own(broker):
    screening = broker["screening"]
    refused = {
        # finding 1: a hand-made decision_recorded on interview_feedback.events
        "publish another's event": attempt(screening, publish("interview_feedback.events", "decision_recorded")),
        "publish an erasure request": attempt(screening, publish("sourcing.events", "candidate_erasure_requested")),
        "reach an inbox through the default exchange": attempt(screening, publish("", "sourcing.inbox")),
        "park into another's wait queue": attempt(screening, publish(topology.WAIT_EXCHANGE, "sourcing")),
        "call a service it does not call": attempt(screening,
                                                   publish(topology.RPC_EXCHANGE, "notification.put_policy")),
        # it keeps its own copy of application statuses: nothing to ask sourcing
        "call sourcing": attempt(screening, publish(topology.RPC_EXCHANGE, "sourcing.get_application")),
        "read another's inbox": attempt(screening, get("sourcing.inbox")),
        "read another's RPC queue": attempt(screening, get("rpc-sourcing")),
        "read another's dead letters": attempt(screening, get("sourcing.dlq")),
        # finding 2: copying another service's RPC requests (and their caller contexts)
        "sniff another's RPC requests": attempt(screening, reply_queue("screening", "sourcing.*")),
        "sniff every RPC": attempt(screening, reply_queue("screening", "#")),
        "declare a queue of another's name": attempt(screening, reply_queue("sourcing")),
        "delete the RPC exchange": attempt(screening, lambda ch: ch.exchange_delete(topology.RPC_EXCHANGE)),
        "redeclare the RPC exchange": attempt(
            screening, lambda ch: ch.exchange_declare(topology.RPC_EXCHANGE, "topic", durable=True, auto_delete=False)),
        "delete its own inbox": attempt(screening, lambda ch: ch.queue_delete("screening.inbox")),
    }
    assert refused == {k: "refused" for k in refused}
    gateway = broker["gateway"]
    refused = {
        "publish an event": attempt(gateway, publish("sourcing.events", "application_status_changed.none.received")),
        "read a service queue": attempt(gateway, get("rpc-sourcing")),
        "sniff RPC requests": attempt(gateway, reply_queue("gateway", "sourcing.*")),
        "hear other events": attempt(gateway, live_queue("candidate_erasure_requested")),
        "hear everything sourcing publishes": attempt(gateway, live_queue("#")),
    }
    assert refused == {k: "refused" for k in refused}


@pytest.fixture(scope="module")
def running_as_own_users(broker, test_infra, tmp_path_factory):
    """sourcing and screening as real processes, each as its own broker user, nothing declared by them."""
    logs = tmp_path_factory.mktemp("broker-users")
    namespace = f"{test_infra.namespace}bu"
    procs = []
    for service in ("sourcing", "screening"):
        env = {**os.environ, **test_infra.env(), "RABBIT_URL": broker[service], "HIRELOOP_NAMESPACE": namespace,
               "BROKER_TOPOLOGY": "predeclared", "LOG_LEVEL": "WARNING", "SHUTDOWN_GRACE": "3",
               "METRICS_PORT": "0", **session_keys().env_for(service), **fixed_env()}
        out = open(logs / f"{service}.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append((subprocess.Popen([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env,
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True), out))
    try:
        yield logs
    finally:
        for proc, out in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            out.close()


def test_services_run_as_their_own_users_on_the_imported_topology(broker, running_as_own_users):
    from shared.bus.aio_rpc import AsyncRpcClient, ServiceUnavailable

    hr = Caller(key_id="k", name="hal", role="hr", divisions=("retail",))

    async def scenario():
        # the gateway's client on the imported topology: passive declarations
        client = AsyncRpcClient(broker["gateway"], name="gateway", timeout=10, predeclared=True,
                                context_secret=Settings.from_env().context_secret)
        await client.connect()
        try:
            deadline = time.monotonic() + 90
            for service in ("sourcing", "screening"):
                while True:
                    try:
                        await client.call(service, "health", timeout=3)
                        break
                    except ServiceUnavailable:
                        assert time.monotonic() < deadline, (running_as_own_users / f"{service}.log").read_text()
                        await asyncio.sleep(0.5)
            req = await client.rpc(CreateRequisition, hr, title="Barista", division="retail",
                                   department="cafe", tier="basic", required_skills=["espresso"])
            app = await client.rpc(SubmitApplication, hr, requisition_id=req.id, source="referral", candidate={
                "name": "Bea Broker", "email": f"bea.{new_id('x')}@example.org", "skills": ["espresso"],
                "years_experience": 2})
            while True:  # sourcing -> application_received -> screening -> application_screened -> sourcing
                found = await client.rpc(GetApplication, hr, application_id=app.id)
                if found.status != "received":
                    break
                assert time.monotonic() < deadline, (running_as_own_users / "screening.log").read_text()
                await asyncio.sleep(0.3)
            # screening checks its own copy of the status (sourcing's event, on its inbox) before overriding
            override = await client.rpc(Override, hr, application_id=app.id,
                                        passed=found.status != "shortlisted", reason="fit")
            return found, override
        finally:
            await client.close()

    found, override = asyncio.run(scenario())
    assert found.status in ("shortlisted", "screened_out") and found.screening is not None
    assert override.application_id == found.id
    for service in ("sourcing", "screening"):
        log = (running_as_own_users / f"{service}.log").read_text(errors="replace")
        assert "ACCESS_REFUSED" not in log and "access_refused" not in log.lower(), log[-3000:]


def test_a_service_parks_an_early_event_under_its_own_user(broker, running_as_own_users):
    """sourcing gets application_screened for an application it does not know yet (NotYet): it parks it through
    hireloop.wait, which its user may do for its own name only, and the event waits in sourcing.wait."""
    import json

    from shared.bus.aio_rpc import AsyncRpcClient

    hr = Caller(key_id="k", name="hal", role="hr", divisions=("retail",))
    admin = _connect(broker["admin"])
    channel = admin.channel()
    copies, _, _ = channel.queue_declare(exclusive=True)
    channel.queue_bind(copies, "screening.events", "application_screened")

    async def submit():
        client = AsyncRpcClient(broker["gateway"], name="gateway", timeout=10, predeclared=True,
                                context_secret=Settings.from_env().context_secret)
        await client.connect()
        try:
            req = await client.rpc(CreateRequisition, hr, title="Roaster", division="retail",
                                   department="cafe", tier="basic", required_skills=["roasting"])
            await client.rpc(SubmitApplication, hr, requisition_id=req.id, source="referral", candidate={
                "name": "Pat Park", "email": f"pat.{new_id('x')}@example.org", "skills": ["roasting"],
                "years_experience": 1})
        finally:
            await client.close()

    try:
        asyncio.run(submit())
        deadline = time.monotonic() + 30
        genuine = None
        while genuine is None and time.monotonic() < deadline:
            genuine = channel.basic_get(copies, no_ack=True)
            time.sleep(0.1)
        assert genuine is not None, "screening published no application_screened"
        envelope = json.loads(genuine.body)
        early = session_keys().signed("screening", "application_screened",
                                      {**envelope["payload"], "application_id": new_id("app")})
        channel.basic_publish(amqp.Message(json.dumps(early).encode(), content_type="application/json",
                                           application_headers=dict(genuine.headers or {})),
                              exchange="screening.events", routing_key="application_screened")
        parked = False
        while not parked and time.monotonic() < deadline:
            _, waiting, _ = channel.queue_declare("sourcing.wait", passive=True)
            parked = waiting > 0
            time.sleep(0.05)
        assert parked, (running_as_own_users / "sourcing.log").read_text()[-3000:]
    finally:
        admin.close()
    log = (running_as_own_users / "sourcing.log").read_text(errors="replace")
    assert "ACCESS_REFUSED" not in log, log[-3000:]
