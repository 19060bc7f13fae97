"""What the fault-injection tests share: a platform whose processes can be killed and restarted one by one,
a private RabbitMQ node that can be restarted without touching the machine's broker, an application burst
driven over HTTP like a real client (retries with an Idempotency-Key), an event tap that sees every event
published, and the counts every test prints: sent, completed, lost, duplicated, dead-lettered.

Bursts are of BURST (100) applications: enough for prefetched, in-flight and queued messages at the moment of
a fault. Faults are triggered by counts (so many screened, accepted, refused), never by timers, so the same
moment of the run is hit on a fast machine and on a loaded one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from kombu import Connection, Exchange, Queue

from infra.embedded_mongo import free_port
from infra.run import Platform
from infra.smtp_capture import _CaptureHandler
from shared.bus import topology
from shared.bus.dlq import DeadLetterQueues
from shared.contracts.common import SERVICES
from shared.storage import mongo_client
from tests.support.divisions import fixed_env

DIVISION = "faults"
SCREENED = {"shortlisted", "screened_out"}
BURST = 100  # applications per burst

# ----------------------------------------------------------------------------------------------------
# a private RabbitMQ node


class PrivateBroker:
    """A RabbitMQ node of its own (own node name, ports, data and log directories) that a test may stop,
    crash and restart; the machine's shared broker is never touched."""

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, base: Path):
        if not os.path.exists(self.SERVER):
            raise RuntimeError(f"the broker-restart test needs a local RabbitMQ installation ({self.SERVER})")
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"hlfault{secrets.token_hex(3)}@localhost"
        self.proc: subprocess.Popen | None = None
        base.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")
        (base / "rabbitmq-env.conf").write_text("")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict:
        b = self.base
        return {
            **os.environ,
            "HOME": str(b),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(b / "mnesia"),
            "RABBITMQ_LOG_BASE": str(b / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(b / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(b / "rabbitmq"),
            "RABBITMQ_CONF_ENV_FILE": str(b / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(b / "pid"),
        }

    def start(self, timeout: float = 60) -> None:
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([self.SERVER], env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("private RabbitMQ exited:\n" + (self.base / "server.log").read_text()[-2000:])
            try:
                with Connection(self.url, connect_timeout=2) as conn:
                    conn.connect()
                    return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        raise RuntimeError("private RabbitMQ did not start:\n" + (self.base / "server.log").read_text()[-2000:])

    def stop(self, crash: bool = False) -> None:
        """crash=True: SIGKILL the whole node (what a power cut looks like); else a clean shutdown."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL if crash else signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self) -> None:
        self.stop(crash=True)
        shutil.rmtree(self.base, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------
# an SMTP capture that can hold its answer to one message


class HoldingHandler(_CaptureHandler):
    """Stores and indexes every message like `infra.smtp_capture`; when armed, the first message that
    matches is stored and then left unanswered (no `250`) until released: its sender sits between
    "the server has it" and "I know it was sent"."""

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.matches = None
        self.held: dict | None = None
        self.holding = threading.Event()
        self.release = threading.Event()

    def hold_next(self, matches) -> None:
        self.held, self.matches = None, matches
        self.holding.clear()
        self.release.clear()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        entry = self.save(envelope.mail_from, list(envelope.rcpt_tos), content)
        msg = message_from_bytes(content if isinstance(content, bytes) else content.encode(),
                                 policy=email_policy.default)
        if self.matches is not None and self.matches(entry, msg):
            self.matches, self.held = None, entry
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class HoldingSmtp:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.handler = HoldingHandler(directory)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> HoldingSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()


# ----------------------------------------------------------------------------------------------------
# the platform, process by process


class FaultPlatform:
    def __init__(self, infra_env: dict, var_dir: Path, extra_env: dict | None = None):
        self.port = free_port()
        self.admin_key = "hl_fault_" + secrets.token_urlsafe(12)
        env = {
            **os.environ, **infra_env,
            "GATEWAY_PORT": str(self.port),
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "HIRELOOP_ADMIN_KEY": self.admin_key,
            "RPC_TIMEOUT": "8",
            "SHUTDOWN_GRACE": "10",
            "LOG_LEVEL": "INFO",
            **fixed_env(),  # the suites' fixed division names, registered at start-up (HIRELOOP_DIVISIONS)
        }
        env.pop("SMTP_URL", None)  # the platform's own capture (var/mail), unless a test brings one
        env.update(extra_env or {})
        self.platform = Platform(var_dir, env)
        self.env = env
        self.var = var_dir
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._mongo = None
        self.smtp: HoldingSmtp | None = None  # an SMTP capture of the test's, when the platform was given one

    def start(self) -> FaultPlatform:
        self.platform.start()
        self.platform.wait_ready(120)
        return self

    def stop(self) -> None:
        self.platform.stop()
        if self._mongo is not None:
            self._mongo.close()

    # processes: labels are `<service>-<n>` and `gateway`
    def log(self, label: str) -> str:
        path = self.var / "log" / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, label: str) -> None:
        self.platform.stop_process(label, signal.SIGKILL)

    def stop_process(self, label: str) -> int:
        return self.platform.stop_process(label, signal.SIGTERM)

    def start_process(self, label: str, timeout: float = 60) -> None:
        before = self.log(label).count('"msg": "started"')
        self.platform.start_process(label)
        wait_until(lambda: self.log(label).count('"msg": "started"') > before, timeout, f"{label} started")

    def replace_process(self, label: str, args: list[str], timeout: float = 60) -> None:
        """Start `label` with another command (e.g. a faulty build of a service)."""
        before = self.log(label).count('"msg": "started"')
        self.platform._spawn(label, args)
        wait_until(lambda: self.log(label).count('"msg": "started"') > before, timeout, f"{label} started")

    # data, for counting effects (tests may read every database; services never read each other's)
    def db(self, service: str):
        if self._mongo is None:
            self._mongo = mongo_client(self.env["MONGO_URL"])
        return self._mongo[f"{self.env['HIRELOOP_NAMESPACE']}_{service}"]

    def mail(self) -> list[dict]:
        import json

        index = self.var / "mail" / "index.jsonl"
        return [json.loads(x) for x in index.read_text().splitlines() if x.strip()] if index.exists() else []

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.admin_key}"},
                            timeout=timeout)


def wait_until(check, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


# ----------------------------------------------------------------------------------------------------
# a burst of applications, sent like a careful client


def candidate(run: str, i: int) -> dict:
    # Every third candidate lacks a required skill: screened out, with a rejection notice.
    skills = ["python", "sql"] if i % 3 else ["python"]
    return {"name": f"Fault Candidate {i}", "email": f"c{i}.{run}@faults.example", "skills": skills,
            "years_experience": 3, "location": "Remote"}


def open_requisition(client: httpx.Client, title: str) -> dict:
    r = client.put(f"/v1/notification-policies/{DIVISION}", json={"rejection_delay": 0, "screen_out_rejection_delay": 0,
                                                                     "survey_after": 86400})
    assert r.status_code == 200, r.text
    r = client.post("/v1/requisitions", json={
        "title": title, "division": DIVISION, "department": "platform", "tier": "basic",
        "required_skills": ["Python", "SQL"], "min_years": 1})
    assert r.status_code == 201, r.text
    return r.json()


@dataclass
class Burst:
    sent: int = 0
    accepted: int = 0
    retries: int = 0
    errors: Counter = field(default_factory=Counter)


async def _post_all(base_url: str, key: str, requisition_id: str, run: str, count: int, concurrency: int,
                    deadline: float, burst: Burst, on_progress) -> None:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=15) as http:
        async def one(i: int) -> None:
            body = {"requisition_id": requisition_id, "source": "job_board", "candidate": candidate(run, i)}
            headers = {"Idempotency-Key": f"{run}-{i}"}
            async with sem:
                burst.sent += 1
                while time.monotonic() < deadline:
                    try:
                        r = await http.post("/v1/applications", json=body, headers=headers)
                    except httpx.TransportError as exc:
                        burst.errors[type(exc).__name__] += 1
                    else:
                        if r.status_code == 202:
                            break
                        if r.status_code == 409 and r.json()["error"]["code"] == "duplicate_application":
                            break  # an earlier attempt was stored, but its answer was lost: done
                        burst.errors[str(r.status_code)] += 1
                        if r.status_code < 500 and r.status_code not in (409, 429):
                            raise AssertionError(f"application {i}: {r.status_code} {r.text}")
                        if r.status_code == 429:  # the gateway's rate limit: wait as told, then retry
                            burst.retries += 1
                            await asyncio.sleep(int(r.headers.get("Retry-After", "1")))
                            continue
                    burst.retries += 1
                    await asyncio.sleep(0.5)
                else:
                    return
                burst.accepted += 1
                on_progress(burst.accepted)

        await asyncio.gather(*(one(i) for i in range(count)))


def send_applications(base_url: str, key: str, requisition_id: str, count: int, *, concurrency: int = 8,
                      timeout: float = 300, on_progress=lambda accepted: None,
                      burst: Burst | None = None) -> tuple[str, Burst]:
    """POST `count` applications; retries 5xx, 429 (after Retry-After) and connection errors with the same
    Idempotency-Key. `burst`: a Burst of the caller's, whose counts it may watch from another thread while
    the applications go out (e.g. to inject a fault when so many were accepted or refused)."""
    run = secrets.token_hex(3)
    burst = burst if burst is not None else Burst()
    asyncio.run(_post_all(base_url, key, requisition_id, run, count, concurrency, time.monotonic() + timeout,
                          burst, on_progress))
    return run, burst


def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in `queue` (a passive declare: nothing is consumed or redelivered)."""
    with Connection(amqp_url) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def applications_of(client: httpx.Client, requisition_id: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"/v1/requisitions/{requisition_id}/applications", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


# ----------------------------------------------------------------------------------------------------
# an event tap: a durable queue bound to every events exchange, drained at the end


class EventTap:
    def __init__(self, amqp_url: str):
        self.url = amqp_url
        self.queue_name = f"test.tap.{secrets.token_hex(3)}"
        with Connection(self.url) as conn:
            channel = conn.channel()
            queue = Queue(self.queue_name, durable=True, queue_arguments={"x-queue-type": "quorum"})(channel)
            queue.declare()
            for service in SERVICES:
                Exchange(topology.events_exchange(service), type="topic", durable=True)(channel).declare()
                queue.bind_to(exchange=topology.events_exchange(service), routing_key="#")
        self.deliveries: list[dict] = []

    def drain(self) -> list[dict]:
        import json

        with Connection(self.url) as conn:
            channel = conn.channel()
            while (raw := channel.basic_get(self.queue_name, no_ack=True)) is not None:
                self.deliveries.append(json.loads(raw.body))
        return self.deliveries

    def delete(self) -> None:
        with Connection(self.url) as conn:
            conn.channel().queue_delete(self.queue_name)

    def per_application(self, event_type: str, application_ids: set[str]) -> dict[str, set[str]]:
        """application id -> distinct event ids of that type (a redelivered event keeps its id)."""
        seen: dict[str, set[str]] = defaultdict(set)
        for env in self.deliveries:
            if env.get("type") == event_type and env["payload"].get("application_id") in application_ids:
                seen[env["payload"]["application_id"]].add(env["event_id"])
        return seen


# ----------------------------------------------------------------------------------------------------
# counting effects


@dataclass
class Counts:
    sent: int
    completed: int
    lost: int
    duplicated: int
    dead_lettered: int

    def show(self, name: str) -> str:
        line = (f"[{name}] sent={self.sent} completed={self.completed} lost={self.lost} "
                f"duplicated={self.duplicated} dead-lettered={self.dead_lettered}")
        print(line)
        return line


def count_screening_effects(fp: FaultPlatform, client: httpx.Client, requisition_id: str, run: str, sent: int,
                            tap: EventTap | None = None, timeout: float = 180) -> tuple[Counts, dict]:
    """Wait until every application is screened (or the timeout), then count lost and duplicated effects:
    applications per candidate, screening results and `application_screened` events per application,
    rejection notices and rejection emails per screened-out candidate."""
    def settled():
        apps = applications_of(client, requisition_id)
        return apps if len(apps) >= sent and all(a["status"] in SCREENED for a in apps) else None

    try:
        apps = wait_until(settled, timeout, f"{sent} applications screened", interval=1)
    except AssertionError:
        apps = applications_of(client, requisition_id)
    ids = {a["id"] for a in apps}
    per_candidate = Counter(a["candidate_id"] for a in apps)
    completed = {a["id"] for a in apps if a["status"] in SCREENED}
    screened_out = {a["id"] for a in apps if a["status"] == "screened_out"}

    # The effects that must each happen once per application (emails last: notices come before them).
    try:
        wait_until(lambda: len([m for m in fp.mail() if run in ",".join(m["to"])]) >= len(screened_out) or None,
                   60, "rejection emails")
    except AssertionError:
        pass  # counted as lost below
    results = Counter(d["_id"] for d in fp.db("screening").results.find({"_id": {"$in": list(ids)}}, {"_id": 1}))
    rejection_notices = Counter(
        d["application_id"] for d in fp.db("notification").notices.find(
            {"application_id": {"$in": list(ids)}, "kind": "rejection"}, {"application_id": 1}))
    emails = Counter(m["to"][0].lower() for m in fp.mail() if run in ",".join(m["to"]))
    if tap:
        tap.drain()
    screened_events = tap.per_application("application_screened", ids) if tap else {}

    duplicated = (
        sum(n - 1 for n in per_candidate.values() if n > 1)
        + sum(n - 1 for n in results.values() if n > 1)
        + sum(len(v) - 1 for v in screened_events.values() if len(v) > 1)
        + sum(n - 1 for n in rejection_notices.values() if n > 1)
        + sum(n - 1 for n in emails.values() if n > 1)
    )
    details = {
        "applications": len(apps),
        "screened_out": len(screened_out),
        "rejection_notices": sum(rejection_notices.values()),
        "rejection_emails": sum(emails.values()),
        "screening_results": sum(results.values()),
        "screened_events_distinct": sum(len(v) for v in screened_events.values()),
        "screened_event_deliveries": sum(1 for e in (tap.deliveries if tap else [])
                                         if e.get("type") == "application_screened"),
    }
    # Lost: an application never screened, a screen-out without its notice or without its email.
    lost = (sent - len(completed)) + len(screened_out - set(rejection_notices)) \
        + max(0, len(screened_out) - len(emails))
    with DeadLetterQueues(fp.env["RABBIT_URL"]) as dlq:
        dead = sum(dlq.count(s) for s in SERVICES)
    return Counts(sent, len(completed), lost, duplicated, dead), details
