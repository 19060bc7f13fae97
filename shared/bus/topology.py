"""The whole RabbitMQ topology of hireloop, described once and declared before anything publishes.

An event published to an exchange with no bound queue is dropped by RabbitMQ, so every service
declares the full topology (not only its own queues) at start-up, and `make topology` does it for a
deployment. Declarations are idempotent.

- `nameko-rpc` (topic): RPC requests, routed `<service>.<method>` to queue `rpc-<service>` (nameko's names).
- `<service>.events` (topic): events a service publishes, routed by event type (nameko's names).
- `<service>.inbox`: one queue per consuming service, bound to every event it subscribes to.
- `<service>.wait`: events that came before one they depend on wait here `WAIT_SECONDS`, then the
  broker dead-letters them back to `<service>.inbox` (through the default exchange); see shared.errors.NotYet.
- `hireloop.dlx` (direct) -> `<service>.dlq`: dead letters, routed by the service name.
Service queues are quorum queues with a delivery limit, so a message that keeps failing is
dead-lettered by the broker even if a consumer dies while handling it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.common import SERVICES

RPC_EXCHANGE = "nameko-rpc"
DEAD_LETTER_EXCHANGE = "hireloop.dlx"
DELIVERY_LIMIT = 5
# Epoch milliseconds after which an RPC request's caller has given up (set by the gateway, honoured by services).
DEADLINE_HEADER = "x-hireloop-deadline"
# An out-of-order event waits WAIT_SECONDS per round, for at most WAIT_BUDGET_SECONDS in all.
WAIT_SECONDS = 2
WAIT_BUDGET_SECONDS = 300

# Who hears what: consumer -> [(producer, event type)]. The single source of the bindings; each
# service's inbox handlers must match its row (checked by tests).
SUBSCRIPTIONS: dict[str, list[tuple[str, str]]] = {
    "sourcing": [
        ("screening", "application_screened"),
        ("interview_feedback", "interview_scheduled"),
        ("interview_feedback", "interview_completed"),
        ("interview_feedback", "decision_recorded"),
        ("interview_feedback", "approval_step_decided"),
        ("screening", "candidate_erased"),
        ("interview_feedback", "candidate_erased"),
        ("notification", "candidate_erased"),
        ("talent_pool", "candidate_erased"),
    ],
    "screening": [
        ("sourcing", "application_received"),
        ("sourcing", "candidate_erasure_requested"),
    ],
    "interview_feedback": [
        ("sourcing", "candidate_erasure_requested"),
    ],
    "notification": [
        ("sourcing", "application_received"),
        ("sourcing", "application_status_changed"),
        ("sourcing", "offer_confirmation_recorded"),
        ("interview_feedback", "approvals_requested"),
        ("interview_feedback", "approval_step_decided"),
        ("talent_pool", "reengagement_requested"),
        ("sourcing", "candidate_erasure_requested"),
    ],
    "talent_pool": [
        ("sourcing", "requisition_opened"),
        ("sourcing", "requisition_closed"),
        ("sourcing", "application_received"),
        ("sourcing", "application_status_changed"),
        ("sourcing", "candidate_erasure_requested"),
    ],
}


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
    return [(RPC_EXCHANGE, "topic"), (DEAD_LETTER_EXCHANGE, "direct")] + [
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
                tuple(Binding(events_exchange(p), t) for p, t in SUBSCRIPTIONS[service]),
            )
        )
        specs.append(QueueSpec(wait_queue(service), wait_queue_arguments(service), ()))
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


if __name__ == "__main__":  # `python -m shared.bus.topology` declares; `--definitions` prints them as JSON
    import json
    import sys

    if sys.argv[1:] == ["--definitions"]:
        print(json.dumps(definitions(), indent=2))
        sys.exit(0)
    from shared.config import load

    declare(load().rabbit_url)
    print("topology declared")
