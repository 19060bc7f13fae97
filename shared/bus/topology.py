"""The whole RabbitMQ topology of hireloop, described once and declared before anything publishes.

An event published to an exchange with no bound queue is dropped by RabbitMQ, so every service
declares the full topology (not only its own queues) at start-up, and `make topology` does it for a
deployment. Declarations are idempotent.

- `nameko-rpc` (topic): RPC requests, routed `<service>.<method>` to queue `rpc-<service>` (nameko's names).
- `<service>.events` (topic): events a service publishes, routed by event type (nameko's names), except
  `application_status_changed`, routed `application_status_changed.<previous status or none>.<status>`
  (`routing_key`) so that each consumer is bound to the status changes it needs only (`Transitions`).
- `<service>.inbox`: one queue per consuming service, bound to every event it subscribes to.
- `<service>.wait`: events that came before one they depend on are parked here (through the topic exchange
  `hireloop.wait`, routing key `<service>`), wait `WAIT_SECONDS`, then the broker dead-letters them back to
  `<service>.inbox` (through the default exchange); see shared.errors.NotYet.
- `hireloop.dlx` (direct) -> `<service>.dlq`: dead letters, routed by the service name.
Service queues are quorum queues with a delivery limit, so a message that keeps failing is
dead-lettered by the broker even if a consumer dies while handling it.

Least privilege (`broker_users`): in a deployment each service, and the gateway, connects as its own RabbitMQ
user that may publish only to its own events exchange, RPCs to the services it calls, replies, its own dead
letters and parked events, and consume only its own queues. Such a user cannot declare the topology, so the
operator imports it first (`definitions()`) and the processes run with BROKER_TOPOLOGY=predeclared: they
declare only their own reply queues and take everything else as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shared.contracts.common import SERVICES, AppStatus
from shared.contracts.status import OVERRIDE_SCREENING

RPC_EXCHANGE = "nameko-rpc"
DEAD_LETTER_EXCHANGE = "hireloop.dlx"
# Parked events go through a topic exchange (routing key: the service), so a service's broker user may
# park only its own events (a topic permission); the default exchange would reach every queue.
WAIT_EXCHANGE = "hireloop.wait"
DELIVERY_LIMIT = 5
# Epoch milliseconds after which an RPC request's caller has given up (set by the gateway, honoured by services).
DEADLINE_HEADER = "x-hireloop-deadline"
# An out-of-order event waits WAIT_SECONDS per round, for at most WAIT_BUDGET_SECONDS in all.
WAIT_SECONDS = 2
WAIT_BUDGET_SECONDS = 300

# ----------------------------------------------------------------------------------------------------
# Status changes are routed by transition

STATUS_CHANGED = "application_status_changed"
NO_STATUS = "none"  # the previous status of an application's first change (None in the payload)
STATUSES: tuple[str, ...] = tuple(s.value for s in AppStatus)
PREVIOUS: tuple[str, ...] = (NO_STATUS, *STATUSES)
# Every (previous, status) pair a key can carry, possible moves or not (status.py's machine plus the fast track
# are a subset): a rule decides over all of them, so a move the machine gains later is never silently unrouted.
ALL_PAIRS: frozenset[tuple[str, str]] = frozenset((p, s) for p in PREVIOUS for s in STATUSES)


def routing_key(event_type: str, payload: Mapping) -> str:
    """The routing key an event is published with: its type, and for a status change the transition too."""
    if event_type != STATUS_CHANGED:
        return event_type
    return f"{STATUS_CHANGED}.{payload.get('previous_status') or NO_STATUS}.{payload['status']}"


def every_key(event_type: str) -> str:
    """The binding key that hears every event of a type (for watchers and tools). `#` matches zero words too,
    so it also hears a status change published with the bare type (a sourcing from before the transition keys)."""
    return f"{STATUS_CHANGED}.#" if event_type == STATUS_CHANGED else event_type


@dataclass(frozen=True)
class Transitions:
    """The status changes a consumer needs: `needs(previous or "none", status)`; `why` says why (docs, tests)."""

    why: str
    needs: Callable[[str, str], bool]

    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset(pair for pair in ALL_PAIRS if self.needs(*pair))


def transition_keys(rule: Transitions | None) -> tuple[str, ...]:
    """The binding keys that hear exactly `rule`'s status changes: `#` for all of them, then a `*.<status>`
    for each status needed whatever came before, a `<previous>.*` for each previous status whose every change is
    needed, and an explicit `<previous>.<status>` for what is left."""
    wanted = ALL_PAIRS if rule is None else rule.pairs()
    if wanted == ALL_PAIRS:
        return (every_key(STATUS_CHANGED),)
    covers: dict[str, frozenset[tuple[str, str]]] = {}
    for s in STATUSES:
        column = frozenset((p, s) for p in PREVIOUS)
        if column <= wanted:
            covers[f"{STATUS_CHANGED}.*.{s}"] = column
    for p in PREVIOUS:
        row = frozenset((p, s) for s in STATUSES)
        if row <= wanted:
            covers[f"{STATUS_CHANGED}.{p}.*"] = row
    for key in list(covers):  # a pattern whose pairs the others hear already is one binding too many
        others = frozenset().union(*(c for k, c in covers.items() if k != key))
        if covers[key] <= others:
            del covers[key]
    heard = frozenset().union(*covers.values())
    explicit = [f"{STATUS_CHANGED}.{p}.{s}" for p in PREVIOUS for s in STATUSES if (p, s) in wanted - heard]
    return (*covers, *explicit)


def topic_matches(pattern: str, key: str) -> bool:
    """RabbitMQ's topic match: words split on ".", `*` is exactly one word, `#` zero or more."""

    def match(ps: list[str], ks: list[str]) -> bool:
        if not ps:
            return not ks
        if ps[0] == "#":
            return any(match(ps[1:], ks[i:]) for i in range(len(ks) + 1))
        return bool(ks) and ps[0] in ("*", ks[0]) and match(ps[1:], ks[1:])

    return match(pattern.split("."), key.split("."))


S = AppStatus
_OVERRIDABLE = OVERRIDE_SCREENING.allowed
_BEFORE_INTERVIEWS = frozenset({NO_STATUS, S.received, S.shortlisted, S.screened_out})

EVERY_CHANGE = Transitions("every change", lambda p, s: True)
SCREENING_NEEDS = Transitions(
    "changes that leave or re-enter the statuses a screening override allows (received, shortlisted, "
    "screened_out): its copy starts as received from application_received, and an override needs only to know "
    "whether the application is still in that set",
    lambda p, s: ((S.received if p == NO_STATUS else p) in _OVERRIDABLE) != (s in _OVERRIDABLE))
NOTIFICATION_NEEDS = Transitions(
    "every change but an application's first (none -> received): its contact comes with application_received",
    lambda p, s: (p, s) != (NO_STATUS, S.received))
TALENT_POOL_NEEDS = Transitions(
    "every change but those among none, received, shortlisted and screened_out: pooling starts at interviewed "
    "and its report counts offers; application_received brings the candidate and consent",
    lambda p, s: not (p in _BEFORE_INTERVIEWS and s in _BEFORE_INTERVIEWS))


class Subscription(tuple):
    """A row of SUBSCRIPTIONS: still the pair (producer, event type), compared and unpacked as one; for a status
    change, `transitions` narrows what is heard (None: every change)."""

    transitions: Transitions | None

    def __new__(cls, producer: str, event_type: str, transitions: Transitions | None = None):
        if transitions is not None and event_type != STATUS_CHANGED:
            raise ValueError(f"only {STATUS_CHANGED} is routed by transition, not {event_type}")
        row = super().__new__(cls, (producer, event_type))
        row.transitions = transitions
        return row


def binding_keys(row: tuple[str, str]) -> tuple[str, ...]:
    """The keys binding a consumer's inbox to one row of its subscriptions."""
    _, event_type = row
    if event_type != STATUS_CHANGED:
        return (event_type,)
    return transition_keys(getattr(row, "transitions", None))


# Who hears what: consumer -> [(producer, event type)]. The single source of the bindings; each
# service's inbox handlers must match its row (checked by tests). A status change row says which changes
# the consumer needs (docs/architecture.md, "Status changes by transition").
SUBSCRIPTIONS: dict[str, list[tuple[str, str]]] = {
    "sourcing": [
        ("screening", "application_screened"),
        ("interview_feedback", "interview_scheduled"),
        # self-scheduling moves the application to interviewing too; a cancellation moves it back
        ("interview_feedback", "interview_slots_offered"),
        ("interview_feedback", "interview_cancelled"),
        ("interview_feedback", "interview_completed"),
        ("interview_feedback", "decision_recorded"),
        ("interview_feedback", "approval_step_decided"),
        ("screening", "candidate_erased"),
        ("interview_feedback", "candidate_erased"),
        ("notification", "candidate_erased"),
        ("talent_pool", "candidate_erased"),
        # its own: a stored file is read off the request path (the careers issue)
        ("sourcing", "document_received"),
    ],
    "screening": [
        ("sourcing", "application_received"),
        # the reading of an application's CV: screened once both are here (the careers issue)
        ("sourcing", "document_read"),
        Subscription("sourcing", STATUS_CHANGED, SCREENING_NEEDS),
        ("sourcing", "candidate_erasure_requested"),
    ],
    "interview_feedback": [
        # every change, `received` too: a schedule on a received application answers 409 invalid_status, not 404
        Subscription("sourcing", STATUS_CHANGED, EVERY_CHANGE),
        ("sourcing", "candidate_erasure_requested"),
    ],
    "notification": [
        ("sourcing", "application_received"),
        Subscription("sourcing", STATUS_CHANGED, NOTIFICATION_NEEDS),
        ("sourcing", "offer_confirmation_recorded"),
        # the offers work: new terms of an open offer reach the candidate; a candidate's question reaches HR
        ("sourcing", "offer_terms_set"),
        ("sourcing", "offer_question_asked"),
        ("interview_feedback", "approvals_requested"),
        ("interview_feedback", "approval_step_decided"),
        # the interviews issue: invitations, updates, cancellations, reminders, overdue scorecards, no-shows
        ("interview_feedback", "interview_scheduled"),
        ("interview_feedback", "interview_slots_offered"),
        ("interview_feedback", "interview_updated"),
        ("interview_feedback", "interview_cancelled"),
        ("interview_feedback", "scorecard_submitted"),
        ("interview_feedback", "interview_attendance_recorded"),
        ("talent_pool", "reengagement_requested"),
        ("talent_pool", "community_signup_requested"),
        ("talent_pool", "community_member_left"),
        # issue 20: a note's mentions, emailed to each user and posted to the division's chat
        ("sourcing", "note_added"),
        ("sourcing", "candidate_erasure_requested"),
    ],
    "talent_pool": [
        ("sourcing", "requisition_opened"),
        ("sourcing", "requisition_closed"),
        ("sourcing", "application_received"),
        Subscription("sourcing", STATUS_CHANGED, TALENT_POOL_NEEDS),
        ("sourcing", "candidate_erasure_requested"),
    ],
}


def consumers_of(producer: str, key: str) -> list[str]:
    """The services whose inbox hears an event that `producer` publishes with routing key `key`."""
    return [service for service, rows in SUBSCRIPTIONS.items()
            if any(row[0] == producer and any(topic_matches(k, key) for k in binding_keys(row)) for row in rows)]


def events_exchange(service: str) -> str:
    return f"{service}.events"


def rpc_queue(service: str) -> str:
    return f"rpc-{service}"


def inbox_queue(service: str) -> str:
    return f"{service}.inbox"


def dead_letter_queue(service: str) -> str:
    return f"{service}.dlq"


def wait_queue(service: str) -> str:
    return f"{service}.wait"


def service_queue_arguments(service: str) -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": service,
    }


DLQ_ARGUMENTS = {"x-queue-type": "quorum"}


def wait_queue_arguments(service: str) -> dict:
    # At-least-once dead-lettering (needs reject-publish overflow): a waiting event survives a broker crash.
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": WAIT_SECONDS * 1000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": inbox_queue(service),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict
    bindings: tuple[Binding, ...]


def exchanges() -> list[tuple[str, str]]:
    return [(RPC_EXCHANGE, "topic"), (DEAD_LETTER_EXCHANGE, "direct"), (WAIT_EXCHANGE, "topic")] + [
        (events_exchange(s), "topic") for s in SERVICES
    ]


def queues(services: tuple[str, ...] = SERVICES) -> list[QueueSpec]:
    specs: list[QueueSpec] = []
    for service in services:
        args = service_queue_arguments(service)
        specs.append(QueueSpec(rpc_queue(service), args, (Binding(RPC_EXCHANGE, f"{service}.*"),)))
        specs.append(
            QueueSpec(
                inbox_queue(service),
                args,
                tuple(Binding(events_exchange(row[0]), key) for row in SUBSCRIPTIONS[service]
                      for key in binding_keys(row)),
            )
        )
        specs.append(QueueSpec(wait_queue(service), wait_queue_arguments(service), (Binding(WAIT_EXCHANGE, service),)))
        specs.append(
            QueueSpec(dead_letter_queue(service), DLQ_ARGUMENTS, (Binding(DEAD_LETTER_EXCHANGE, service),))
        )
    return specs


def declare(amqp_uri: str) -> None:
    """Declare everything with kombu (synchronous; used by services at start-up and `make topology`)."""
    from kombu import Connection, Exchange, Queue

    with Connection(amqp_uri, connect_timeout=10) as conn:
        conn.ensure_connection(max_retries=10, interval_start=0.5, interval_step=1, interval_max=3)
        channel = conn.channel()
        declared = {name: Exchange(name, type=kind, durable=True) for name, kind in exchanges()}
        for ex in declared.values():
            ex(channel).declare()
        for spec in queues():
            queue = Queue(spec.name, durable=True, queue_arguments=spec.arguments)(channel)
            queue.declare()
            for b in spec.bindings:
                queue.bind_to(exchange=b.exchange, routing_key=b.routing_key)
        channel.close()


def policies() -> list[dict]:
    """Broker policies repeating each service queue's limits, for operators to see and tune (a quorum queue
    uses the lower delivery limit of argument and policy). Patterns name queues exactly, so reply queues
    (nameko's `rpc.reply-*`, the gateway's) never match. x-queue-type cannot be a policy: it is an argument."""
    found = []
    for service in SERVICES:
        limits = {k.removeprefix("x-"): v for k, v in service_queue_arguments(service).items() if k != "x-queue-type"}
        wait = {k.removeprefix("x-"): v for k, v in wait_queue_arguments(service).items() if k != "x-queue-type"}
        found.append({"name": f"hireloop-{service}", "pattern": f"^({rpc_queue(service)}|{service}\\.inbox)$",
                      "apply-to": "queues", "priority": 10, "definition": limits})
        found.append({"name": f"hireloop-{service}-wait", "pattern": f"^{service}\\.wait$",
                      "apply-to": "queues", "priority": 10, "definition": wait})
    return found


def definitions(vhost: str = "/") -> dict:
    """The topology as a RabbitMQ definitions document (infra/k8s/base/rabbitmq-definitions.json is this,
    checked by tests): imported into a broker before any service starts. No users: credentials stay out."""
    specs = queues()
    return {
        "vhosts": [{"name": vhost}],
        "policies": [{"vhost": vhost, **p} for p in policies()],
        "exchanges": [{"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False,
                       "internal": False, "arguments": {}} for name, kind in exchanges()],
        "queues": [{"name": q.name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": q.arguments}
                   for q in specs],
        "bindings": [{"source": b.exchange, "vhost": vhost, "destination": q.name, "destination_type": "queue",
                      "routing_key": b.routing_key, "arguments": {}} for q in specs for b in q.bindings],
    }


# ----------------------------------------------------------------------------------------------------
# Least privilege: one broker user per service and one for the gateway

# Who calls whom by RPC (services: their CallerRpc dependencies, checked by tests; the gateway: everyone).
RPC_CALLS: dict[str, tuple[str, ...]] = {
    "sourcing": (),
    "screening": (),
    # sourcing: the division's record (time zone, meeting link template) and a kit's requisition
    "interview_feedback": ("notification", "sourcing"),
    "notification": (),
    "talent_pool": ("sourcing", "notification"),
    "gateway": SERVICES,
}
# nameko and the gateway name reply queues `rpc.reply-<client name>-<uuid4>` and route replies by the uuid.
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The gateway's live board views hear one event type of one producer (gateway/console).
GATEWAY_LISTENS = (("sourcing", "application_status_changed"),)


@dataclass(frozen=True)
class TopicPermission:
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class BrokerUser:
    """A RabbitMQ user's permissions on the vhost (regular expressions over resource names) and its topic
    permissions (over routing keys, checked on publish (write) and on binding a queue (read))."""

    name: str
    configure: str
    write: str
    read: str
    topics: tuple[TopicPermission, ...]


def _any_of(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def _escape(name: str) -> str:
    return name.replace(".", "\\.")


def broker_users() -> list[BrokerUser]:
    """Every process's broker user, least privilege (docs/architecture.md "Broker users"). The manifests
    (infra/k8s, docker-compose) are generated from / checked against this, and
    tests/integration/test_broker_users.py proves on a real broker what it allows and refuses."""
    import re

    def calls(who: str) -> str:
        targets = RPC_CALLS[who]
        keys = [f"^({'|'.join(targets)})\\.[A-Za-z0-9_]+$"] if targets else []
        return "|".join(keys)

    users = []
    for service in SERVICES:
        # Its reply queues: nameko's (`rpc.reply-<service>-<uuid>`) and the health probe's.
        replies = f"rpc\\.reply-(healthcheck-)?{service}-{UUID}"
        own_rpc_keys = "|".join(k for k in (calls(service), f"^{service}\\.health$", f"^{UUID}$") if k)
        users.append(BrokerUser(
            name=service,
            configure=_any_of(replies),
            write=_any_of(_escape(events_exchange(service)), _escape(RPC_EXCHANGE), _escape(DEAD_LETTER_EXCHANGE),
                          _escape(WAIT_EXCHANGE), replies),
            read=_any_of(_escape(rpc_queue(service)), _escape(inbox_queue(service)),
                         _escape(dead_letter_queue(service)), replies, _escape(RPC_EXCHANGE)),
            topics=(
                # requests to the services it calls, its own health probe, replies (by the caller's uuid);
                # binds only its reply queues' uuids: it cannot bind a queue to another service's requests.
                TopicPermission(RPC_EXCHANGE, write=own_rpc_keys, read=f"^{UUID}$"),
                TopicPermission(events_exchange(service), write=".*", read="^$"),
                TopicPermission(WAIT_EXCHANGE, write=f"^{re.escape(service)}$", read="^$"),
            ),
        ))
    replies = f"rpc\\.reply-gateway-{UUID}"
    live = f"live-gateway-{UUID}"
    users.append(BrokerUser(
        name="gateway",
        configure=_any_of(replies, live),
        write=_any_of(_escape(RPC_EXCHANGE), replies, live),
        read=_any_of(replies, live, _escape(RPC_EXCHANGE), *(_escape(events_exchange(p)) for p, _ in GATEWAY_LISTENS)),
        topics=(
            TopicPermission(RPC_EXCHANGE, write=calls("gateway"), read=f"^{UUID}$"),
            # binds (read) with the key that hears every event of the type (a status change: `<type>.#`)
            *(TopicPermission(events_exchange(p), write="^$", read=f"^{_escape(every_key(t))}$")
              for p, t in GATEWAY_LISTENS),
        ),
    ))
    return users


def user_definitions(vhost: str = "/") -> dict:
    """`broker_users()` as the permissions and topic_permissions of a RabbitMQ definitions document."""
    users = broker_users()
    return {
        "permissions": [{"user": u.name, "vhost": vhost, "configure": u.configure, "write": u.write,
                         "read": u.read} for u in users],
        "topic_permissions": [{"user": u.name, "vhost": vhost, "exchange": t.exchange, "write": t.write,
                               "read": t.read} for u in users for t in u.topics],
    }


def password_variable(user: str) -> str:
    """The environment variable holding a broker user's password for `--users` (e.g. BROKER_PASSWORD_SOURCING)."""
    return f"BROKER_PASSWORD_{user.upper()}"


def provision_users(amqp_uri: str, passwords: dict[str, str], management_url: str | None = None) -> None:
    """Make (or update) every broker user with its password and exactly `broker_users()`' permissions, through
    the management API as the (administrator) user of `amqp_uri`, on its vhost. For docker-compose; Kubernetes
    has the topology operator do it (infra/k8s/base/broker-users.yaml)."""
    import base64
    import json
    import urllib.request
    from urllib.parse import quote, unquote, urlsplit

    parts = urlsplit(amqp_uri)
    vhost = quote(unquote(parts.path[1:]) or "/", safe="")
    api = (management_url or f"http://{parts.hostname}:15672").rstrip("/") + "/api"
    token = base64.b64encode(f"{unquote(parts.username or 'guest')}:{unquote(parts.password or 'guest')}".encode())

    def put(path: str, body: dict) -> None:
        request = urllib.request.Request(api + path, data=json.dumps(body).encode(), method="PUT",
                                         headers={"content-type": "application/json",
                                                  "authorization": f"Basic {token.decode()}"})
        urllib.request.urlopen(request, timeout=10).read()

    for user in broker_users():
        name = quote(user.name, safe="")
        put(f"/users/{name}", {"password": passwords[user.name], "tags": ""})
        put(f"/permissions/{vhost}/{name}", {"configure": user.configure, "write": user.write, "read": user.read})
        for topic in user.topics:
            put(f"/topic-permissions/{vhost}/{name}", {"exchange": topic.exchange, "write": topic.write,
                                                        "read": topic.read})


if __name__ == "__main__":
    # `python -m shared.bus.topology` declares; `--definitions` prints them as JSON; `--users` declares, then
    # makes the broker users (passwords from BROKER_PASSWORD_<USER>, management API at RABBIT_MANAGEMENT_URL).
    import json
    import sys

    if sys.argv[1:] == ["--definitions"]:
        print(json.dumps(definitions(), indent=2))
        sys.exit(0)
    from shared.config import Settings

    settings = Settings.from_env()
    declare(settings.rabbit_url)
    print("topology declared")
    if sys.argv[1:] == ["--users"]:
        passwords = settings.broker_user_passwords
        missing = [password_variable(u.name) for u in broker_users() if not passwords.get(u.name)]
        if missing:
            sys.exit(f"set {', '.join(missing)}")
        provision_users(settings.rabbit_url, {u.name: passwords[u.name] for u in broker_users()},
                        settings.rabbit_management_url or None)
        print("broker users ready: " + ", ".join(u.name for u in broker_users()))
