"""nameko extensions every hireloop service uses. Only the service shells import this module.

- `rpc`: nameko's RPC entrypoint on a quorum queue; a message that cannot be decoded or has no reply
  address goes to the service's dead-letter queue instead of killing the consumer.
- `event_handler(producer, type)`: handlers of hireloop events. All of a service's handlers share one
  queue (`<service>.inbox`). Each event's signature is verified first (shared/event_signing.py): an
  unsigned, forged, tampered or stale event, or one from a producer that does not publish that type, is
  dead-lettered with the reason and reaches neither the inbox nor a handler. The envelope and payload are
  then validated against the contracts; a message
  that can never succeed (not JSON, wrong schema, no handler) is dead-lettered at once with the
  error; a handler error requeues it (nameko's default would ack and lose it) until the delivery limit,
  then it is dead-lettered with the last error. An event that came before one it depends on (NotYet)
  waits in `<service>.wait` and comes back, for minutes, without spending that limit. Messages are
  acked only after the handler returned, i.e. after its unit of work committed (or the event was parked).
- `Bus`: per-worker helper: the verified caller, `transact()` (unit of work + immediate outbox relay).
- `ServiceBase`: health RPC and the outbox sweep timer, shared by every service class.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from datetime import timedelta
from functools import partial
from typing import Any

import eventlet
from kombu import Exchange, Queue
from nameko import config
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider, Entrypoint, ProviderCollector, SharedExtension
from nameko.messaging import decode_from_headers
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from nameko.timer import timer
from pydantic import ValidationError

from shared import erasure, event_signing, metrics, tracing
from shared.bus import topology
from shared.bus.callers import caller_of
from shared.bus.configured import ServiceSettings, container_settings
from shared.bus.dlq import purge_dead_letters
from shared.bus.observe import Observability
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.contracts.rpc import HEALTH
from shared.contracts.rpc import Rpc as Declared
from shared.errors import DomainError, NotYet
from shared.storage import AlreadyHandled, ServiceStore, StillContended
from shared.timeutil import utcnow

log = logging.getLogger("hireloop.bus")
INSTANCE_ID = f"{socket.gethostname()}-{os.getpid()}"


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed: dead-letter it now, don't retry."""


# ----------------------------------------------------------------------------------------------------
# dead letters


def raw_body(message) -> bytes:
    body = message.body
    return bytes(body) if isinstance(body, bytes | bytearray) else str(body).encode()


def amqp_uri() -> str:
    return config.get("AMQP_URI")


class DeadLetters:
    """Publishes a message, byte for byte, to the dead-letter exchange with the reason in headers."""

    def __init__(self, service: str):
        self.service = service
        self.publisher = Publisher(amqp_uri(), use_confirms=True)

    def send(self, message, reason: str, error: str) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-hireloop-service": self.service,
                "x-hireloop-reason": reason,
                "x-hireloop-error": error[:2000],
                "x-hireloop-dead-lettered-at": time.time(),
                "x-hireloop-original-routing-key": message.delivery_info.get("routing_key", ""),
                "x-hireloop-original-exchange": message.delivery_info.get("exchange", ""),
            }
        )
        self.publisher.publish(
            raw_body(message),
            exchange=Exchange(topology.DEAD_LETTER_EXCHANGE, type="direct", durable=True),
            routing_key=self.service,
            headers=headers,
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            message_id=message.properties.get("message_id"),
            correlation_id=message.properties.get("correlation_id"),
            retry=True,
        )
        metrics.MESSAGES_DEAD_LETTERED.labels(self.service, reason).inc()
        log.warning(
            "dead-lettered message",
            extra={"service": self.service, "reason": reason, "error": error[:500]},
        )

    def settle(self, consumer, message, reason: str, error: str) -> None:
        """Dead-letter, then ack; if publishing fails, reject so the broker dead-letters it instead."""
        try:
            self.send(message, reason, error)
        except Exception:  # noqa: BLE001 - the broker's own DLX is the fallback
            log.exception("could not publish dead letter; rejecting to the broker's dead-letter exchange")
            if message.channel.connection:
                message.reject(requeue=False)
            return
        consumer.ack_message(message)


def _service_queue(name: str, service: str, exchange: Exchange | None = None, routing_key: str = "") -> Queue:
    predeclared = container_settings().predeclared_topology
    return Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        queue_arguments=topology.service_queue_arguments(service),
        # Imported by the operator; a least-privilege broker user may consume it, not declare it.
        no_declare=predeclared,
    )


# ----------------------------------------------------------------------------------------------------
# RPC


class HireloopRpcConsumer(RpcConsumer):
    def setup(self):
        service = self.container.service_name
        self.dead_letters = DeadLetters(service)
        self.queue = _service_queue(
            topology.rpc_queue(service), service, get_rpc_exchange(), f"{service}.*"
        )
        self.consumer = self.consumer_cls(
            self.amqp_uri,
            ssl=config.get("AMQP_SSL"),
            login_method=config.get("LOGIN_METHOD"),
            queues=[self.queue],
            callbacks=[self.handle_message],
            heartbeat=config.get("HEARTBEAT", 60),
            prefetch_count=config.get("PREFETCH_COUNT", 10),
            accept=["json"],
            on_decode_error=self.on_decode_error,
        )

    def on_decode_error(self, message, exc):
        self.dead_letters.settle(self.consumer, message, "undecodable", repr(exc))

    def handle_result(self, message, result, exc_info):
        """Send the reply, then ack. nameko lets a failed reply (broker gone) escape and kill the whole
        service; here it is logged and the request is left unacked: the broker redelivers it after
        reconnecting, unless the caller's deadline (message expiration) has passed by then."""
        try:
            return super().handle_result(message, result, exc_info)
        except Exception:  # noqa: BLE001 - any publish failure; the service must live on
            log.warning("could not send an RPC reply; the caller will time out", exc_info=True,
                        extra={"routing_key": message.delivery_info.get("routing_key")})
            return result, exc_info

    def handle_message(self, body, message):
        metrics.MESSAGES_CONSUMED.labels(self.container.service_name, self.queue.name).inc()
        if not message.properties.get("reply_to") or not isinstance(body, dict):
            # Nobody to answer, or not an RPC request at all: keep it for inspection, don't crash.
            self.dead_letters.settle(self.consumer, message, "malformed_rpc", "no reply_to or body not an object")
            return
        deadline_ms = (message.headers or {}).get(topology.DEADLINE_HEADER)
        deadline = deadline_ms / 1000 if isinstance(deadline_ms, int) else None
        if deadline is not None and deadline < time.time():
            # The caller has answered its client with a 503 already; doing it now would surprise them.
            log.info("dropped an RPC request received after its caller's deadline",
                     extra={"routing_key": message.delivery_info.get("routing_key"),
                            "late_seconds": round(time.time() - deadline, 2)})
            self.consumer.ack_message(message)
            return
        super().handle_message(body, message)


class HireloopRpc(Rpc):
    rpc_consumer = HireloopRpcConsumer()

    def __init__(self, **kwargs):
        # Domain errors are answers (404, 409, 422), not failures: nameko logs them as expected.
        kwargs.setdefault("expected_exceptions", (DomainError, StillContended))
        super().__init__(**kwargs)


rpc = HireloopRpc.decorator


def implements(declared: Declared):
    """The entrypoint of a declared RPC (shared/contracts/rpc.py). The method receives the verified caller and
    the parsed arguments, and returns its declared answer (a model or the same shape as a dict); the roles,
    the parsing (a 422 naming the field) and the serialisation are the declaration's, written once."""

    def decorate(method):
        if method.__name__ != declared.method:
            raise TypeError(f"{method.__name__} implements {declared.name}: the names must match")

        def entry(self, **kwargs):  # nameko checks calls against this signature: keyword arguments only
            caller = self.bus.caller
            caller.require_role(*declared.roles)
            return declared.dump_result(method(self, caller, declared.parse_args(kwargs)))

        # Not functools.wraps: its __wrapped__ would make nameko check calls against the method's signature.
        entry.__name__, entry.__qualname__, entry.__doc__ = method.__name__, method.__qualname__, method.__doc__
        entry.declared = declared
        entry.implementation = method  # for tests that call the method itself
        return rpc(entry)

    return decorate


# ----------------------------------------------------------------------------------------------------
# Events


class InboxConsumer(SharedExtension, ProviderCollector):
    """One consumer of `<service>.inbox`, dispatching each event to the handler registered for it."""

    def setup(self):
        service = self.container.service_name
        settings = container_settings()
        if not settings.event_public_keys:
            raise RuntimeError(f"{event_signing.PUBLIC_KEYS_VAR} is not set: {service} cannot verify the events "
                               f"it consumes (docs/architecture.md, 'Signed events')")
        self.public_keys = settings.event_public_keys
        self.max_age_seconds = settings.event_max_age_seconds
        self.dead_letters = DeadLetters(service)
        self.queue_name = topology.inbox_queue(service)
        queue = _service_queue(self.queue_name, service)
        from nameko.amqp.consume import Consumer as CoreConsumer

        self.consumer = CoreConsumer(
            amqp_uri(),
            queues=[queue],
            callbacks=[self.handle_message],
            heartbeat=config.get("HEARTBEAT", 60),
            prefetch_count=config.get("PREFETCH_COUNT", 10),
            accept=["json"],
            on_decode_error=self.on_decode_error,
        )

    def start(self):
        self.container.spawn_managed_thread(self.consumer.run)
        self.consumer.wait_until_consumer_ready()

    def stop(self):
        self.consumer.stop()

    def unregister_provider(self, provider):
        self.stop()
        super().unregister_provider(provider)

    def on_decode_error(self, message, exc):
        self.dead_letters.settle(self.consumer, message, "undecodable", repr(exc))

    def handle_message(self, body, message):
        metrics.MESSAGES_CONSUMED.labels(self.container.service_name, self.queue_name).inc()
        try:
            if not isinstance(body, dict):
                raise PoisonMessage("event body is not a JSON object")
            # Before anything else reads it: who signed it, and may they publish it? A refused event
            # reaches neither the inbox nor a handler, so it changes nothing.
            event_signing.verify_envelope(body, self.public_keys, EVENT_MODELS, utcnow(), self.max_age_seconds)
            envelope = EventEnvelope.model_validate(body)
            model = EVENT_MODELS.get((envelope.producer, envelope.type))
            provider = next(
                (p for p in self._providers if (p.producer, p.event_type) == (envelope.producer, envelope.type)),
                None,
            )
            if model is None or provider is None:
                raise PoisonMessage(f"no handler for {envelope.producer}.{envelope.type}")
            payload = model.model_validate(envelope.payload)
        except event_signing.EventRefused as exc:
            self.dead_letters.settle(self.consumer, message, exc.reason, str(exc))
            return
        except (PoisonMessage, ValidationError) as exc:
            self.dead_letters.settle(self.consumer, message, "invalid_event", str(exc))
            return
        provider.handle_event(envelope, payload, message)

    def settle(self, message, exc_info) -> None:
        if exc_info is None:
            self.consumer.ack_message(message)
            return
        exc = exc_info[1]
        if isinstance(exc, AlreadyHandled):
            self.consumer.ack_message(message)
            return
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, NotYet):
            self.park(message, error)
            return
        deliveries = int((message.headers or {}).get("x-delivery-count", 0) or 0) + 1
        if isinstance(exc, PoisonMessage) or deliveries >= topology.DELIVERY_LIMIT:
            self.dead_letters.settle(self.consumer, message, "handler_failed", error)
            return
        metrics.MESSAGES_FAILED.labels(self.container.service_name, self.queue_name, "requeued").inc()
        log.warning("event handler failed, requeueing", extra={"error": error, "delivery": deliveries})
        # A short back-off: most failures are ordering (an event that needs an earlier one) or a store hiccup.
        eventlet.sleep(min(0.2 * deliveries, 1.0))
        self.consumer.requeue_message(message)


    def park(self, message, error: str) -> None:
        """Send an out-of-order event to `<service>.wait` (through `hireloop.wait`, routing key the service: a
        broker user may park only its own events; it returns after WAIT_SECONDS), then ack it here;
        after WAIT_BUDGET_SECONDS of waiting it is dead-lettered like any other failure."""
        headers = dict(message.headers or {})
        waits = int(headers.get(WAITS_HEADER, 0) or 0) + 1
        if waits * topology.WAIT_SECONDS > topology.WAIT_BUDGET_SECONDS:
            self.dead_letters.settle(self.consumer, message, "waited_too_long", error)
            return
        headers = {k: v for k, v in headers.items() if not k.startswith("x-death") and k != "x-delivery-count"}
        headers[WAITS_HEADER] = waits
        try:
            self.dead_letters.publisher.publish(
                raw_body(message), exchange=Exchange(topology.WAIT_EXCHANGE, type="topic", durable=True),
                routing_key=self.container.service_name, headers=headers,
                content_type=message.content_type, content_encoding=message.content_encoding,
                message_id=message.properties.get("message_id"), retry=True)
        except Exception:  # noqa: BLE001 - not parked: requeue instead, nothing is lost
            log.exception("could not park an out-of-order event; requeueing it")
            eventlet.sleep(topology.WAIT_SECONDS)
            self.consumer.requeue_message(message)
            return
        metrics.MESSAGES_FAILED.labels(self.container.service_name, self.queue_name, "parked").inc()
        if waits == 1 or waits % 10 == 0:
            log.info("event waits for an earlier one", extra={"error": error, "waits": waits})
        self.consumer.ack_message(message)


WAITS_HEADER = "x-hireloop-waits"


class EventHandler(Entrypoint):
    inbox = InboxConsumer()

    def __init__(self, producer: str, event_type: str, **kwargs):
        self.producer = producer
        self.event_type = event_type
        # A duplicate delivery is the normal at-least-once case, not an error worth a traceback.
        kwargs.setdefault("expected_exceptions", (AlreadyHandled, PoisonMessage, NotYet))
        super().__init__(**kwargs)

    def setup(self):
        if (self.producer, self.event_type) not in EVENT_MODELS:
            raise ValueError(f"unknown event {self.producer}.{self.event_type}")
        self.inbox.register_provider(self)

    def stop(self):
        self.inbox.unregister_provider(self)

    def handle_event(self, envelope: EventEnvelope, payload, message):
        context_data = decode_from_headers(message.headers or {})
        context_data["hireloop_event"] = envelope.model_dump(mode="json")

        def spawn_worker():
            try:
                self.container.spawn_worker(
                    self,
                    (payload, envelope),
                    {},
                    context_data=context_data,
                    handle_result=partial(self.handle_result, message),
                )
            except ContainerBeingKilled:
                self.inbox.consumer.requeue_message(message)

        self.container.spawn_managed_thread(spawn_worker)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        try:
            self.inbox.settle(message, exc_info)
        except Exception:  # noqa: BLE001 - an escaping error would kill the service (nameko's rule)
            log.warning("could not settle an event (broker away?); it will be redelivered", exc_info=True)
        return result, exc_info


event_handler = EventHandler.decorator


# ----------------------------------------------------------------------------------------------------
# Store and bus dependencies


class Store(DependencyProvider):
    """Gives the service its own store (one MongoClient per process, indexes ensured at start)."""

    def __init__(self, store_cls: type[ServiceStore]):
        self.store_cls = store_cls
        self.store: ServiceStore | None = None

    def setup(self):
        from shared.storage import mongo_client

        settings = container_settings()
        service = self.container.service_name
        # Its commands counted by name (hireloop_mongo_commands_total): what `make bench` divides per application.
        client = mongo_client(settings.mongo_url, event_listeners=[metrics.count_mongo_commands(service)])
        self.store = self.store_cls(client, settings.database_name(service))
        self.store.ensure_indexes()
        self.store.bootstrap(settings)

    def stop(self):
        if self.store is not None:
            self.store.client.close()

    def get_dependency(self, worker_ctx):
        return self.store


class BusHandle:
    def __init__(self, provider: Bus, worker_ctx):
        self._provider = provider
        self._ctx = worker_ctx

    @property
    def service_name(self) -> str:
        return self._ctx.container.service_name

    @property
    def caller(self) -> Caller:
        """The verified caller of this RPC; raises Unauthenticated for a missing or forged context, or one
        signed for another call or already used (shared/bus/callers.py). Verified once per worker."""
        return caller_of(self._ctx)

    @property
    def event(self) -> dict | None:
        return self._ctx.context_data.get("hireloop_event")

    def _headers(self) -> dict[str, Any]:
        # What travels with the events this worker causes: trace context and correlation. Not the caller's
        # token: it was signed for the call that reached this worker and is worth nothing downstream. The
        # trace context is this worker's span (events it emits are its children); without tracing in this
        # process, the context it received is passed on so the trace still continues downstream.
        keep = ("call_id_stack", "correlation_id")
        headers = {f"nameko.{k}": v for k, v in self._ctx.context_data.items() if k in keep and v is not None}
        current = tracing.nameko_headers()
        if not current:
            current = {f"nameko.{k}": v for k, v in self._ctx.context_data.items()
                       if k in ("traceparent", "tracestate") and v}
        headers.update(current)
        return headers

    def relay_pending(self) -> int:
        return self._provider.relay(self._ctx.service.store)

    def sweep_documents(self) -> int:
        return self._provider.sweep_documents(self._ctx.service.store)

    def transact(self, work, envelope: EventEnvelope | None = None):
        """Run `work(uow)` in one transaction (with inbox dedup when handling `envelope`), then relay
        the events it emitted. Raises AlreadyHandled for a duplicate event (the inbox acks it)."""
        store: ServiceStore = self._ctx.service.store
        correlation = envelope.correlation_id if envelope else self._ctx.context_data.get("correlation_id")
        result, emitted = store.transact(
            work,
            inbox_event_id=envelope.event_id if envelope else None,
            headers=self._headers(),
            correlation_id=correlation or self._ctx.call_id,
            causation_id=envelope.event_id if envelope else self._ctx.call_id,
            # an event about an erased candidate is acked and changes nothing (shared/erasure.py)
            about=erasure.subjects(envelope.type, envelope.payload) if envelope else None,
        )
        for e in emitted:
            metrics.count_business(store.owner, e.type, e.payload)
        if emitted:
            self._provider.relay(store, [e.event_id for e in emitted])
        return result

    def write(self, collection: str, doc_id: str, decide, envelope: EventEnvelope | None = None, *,
              new: bool = False) -> dict | None:
        """One document, one write (ServiceStore.write_document): `decide(state, change) -> new state | None`,
        with the handled event's id and the events `change.emit`s kept on the document; then relay them.
        Raises AlreadyHandled for a duplicate event (the inbox acks it). Returns the document as written."""
        store: ServiceStore = self._ctx.service.store
        correlation = envelope.correlation_id if envelope else self._ctx.context_data.get("correlation_id")
        doc, emitted, entries = store.write_document(
            collection, doc_id, decide, new=new,
            event_id=envelope.event_id if envelope else None,
            about=erasure.subjects(envelope.type, envelope.payload) if envelope else None,
            headers=self._headers(),
            correlation_id=correlation or self._ctx.call_id,
            causation_id=envelope.event_id if envelope else self._ctx.call_id,
        )
        for e in emitted:
            metrics.count_business(store.owner, e.type, e.payload)
        if entries:
            self._provider.relay_soon(store, collection, doc_id, entries)
        return doc


class Bus(DependencyProvider):
    def setup(self):
        self.signing_key = container_settings().event_signing_key
        if self.signing_key is None:
            raise RuntimeError(f"{event_signing.SIGNING_KEY_VAR} is not set: {self.container.service_name} cannot "
                               f"sign the events it publishes (docs/architecture.md, 'Signed events')")
        self.publisher = Publisher(amqp_uri(), use_confirms=True, serializer="json")

    def get_dependency(self, worker_ctx):
        return BusHandle(self, worker_ctx)

    def start(self):
        # Relayed events are pulled off their documents in batches (one command per collection per batch).
        self._cleared: dict[tuple[int, str], tuple[ServiceStore, set[str], set[str]]] = {}
        self._flushing = True
        self.container.spawn_managed_thread(self._clear_loop)

    def stop(self):
        self._flushing = False
        self.flush_cleared()

    def _publish(self, store: ServiceStore, entry: dict) -> bool:
        """Sign and publish one outbox entry; True once the broker confirmed it."""
        exchange = topology.events_exchange(store.owner)
        try:
            # Signed here, when it leaves, not when it was emitted: an erasure redacts the payloads of
            # unsent outbox events (ServiceStore.erase_from_outbox), and what is signed must be exactly
            # what is published. The outbox is this service's own database; the bus is where trust ends.
            envelope = event_signing.sign_envelope(entry["envelope"], self.signing_key)
            with tracing.producer_span(exchange, entry["type"], entry["_id"], entry.get("headers") or {}) as headers:
                self.publisher.publish(
                    envelope,
                    exchange=Exchange(exchange, type="topic", durable=True),
                    # the type, and for a status change the transition: consumers bind to the changes they need
                    routing_key=topology.routing_key(entry["type"], entry["envelope"].get("payload") or {}),
                    headers=headers,
                    message_id=entry["_id"],
                    retry=True,
                )
        except Exception:  # noqa: BLE001 - left in the outbox; the sweep publishes it later
            log.exception("outbox publish failed", extra={"event_id": entry["_id"]})
            return False
        metrics.EVENTS_PUBLISHED.labels(store.owner, entry["type"]).inc()
        return True

    def relay(self, store: ServiceStore, only_ids: list[str] | None = None) -> int:
        """Publish unsent events of the outbox collection; mark each sent only after the broker confirmed it."""
        sent = 0
        for doc in store.claim_outbox(only_ids=only_ids):
            if self._publish(store, doc):  # a failure stays leased; the sweep publishes it when the lease ends
                store.mark_sent(doc["_id"])
                sent += 1
        return sent

    def relay_document(self, store: ServiceStore, collection: str, doc_id: str, entries: list[dict]) -> int:
        """Publish events kept on a document; the confirmed ones are pulled off it in the next batch."""
        sent = [e["_id"] for e in entries if self._publish(store, e)]
        if sent:
            _, docs, events = self._cleared.setdefault((id(store), collection), (store, set(), set()))
            docs.add(doc_id)
            events.update(sent)
        return len(sent)

    def relay_soon(self, store: ServiceStore, collection: str, doc_id: str, entries: list[dict]) -> None:
        """Relay a write's events in a thread of their own: the worker answers (or acks its event) without
        waiting for the broker's confirms. Nothing is lost meanwhile: the events are on the document, and the
        sweep publishes what a crash leaves there; consumers order an application's events by `sequence`."""
        self.container.spawn_managed_thread(partial(self.relay_document, store, collection, doc_id, entries))

    def flush_cleared(self) -> None:
        batches, self._cleared = self._cleared, {}
        for (_, collection), (store, docs, events) in batches.items():
            try:
                store.clear_relayed(collection, sorted(docs), sorted(events))
            except Exception:  # noqa: BLE001 - left on the documents: the sweep publishes them again (deduplicated)
                log.warning("could not clear relayed events", exc_info=True, extra={"collection": collection})

    def _clear_loop(self):
        while self._flushing:
            eventlet.sleep(CLEAR_INTERVAL)
            self.flush_cleared()

    def sweep_documents(self, store: ServiceStore) -> int:
        """Events on documents whose relay did not happen (a process killed between write and publish, a
        broker away): published once they are older than SWEEP_GRACE; empty outboxes leave the index."""
        sent = 0
        cutoff = utcnow() - SWEEP_GRACE
        for collection in store.documents_with_outbox:
            pending = store.pending_documents(collection)
            empty = [d["_id"] for d in pending if not d.get("outbox")]
            if empty:
                store.settle_empty_outboxes(collection, empty)
            for doc in pending:
                due = [e for e in doc.get("outbox") or [] if e["created_at"] <= cutoff]
                if due and store.lease_document_outbox(collection, doc["_id"]):
                    sent += self.relay_document(store, collection, doc["_id"], due)
        return sent


STARTED_AT = time.time()
CLEAR_INTERVAL = 1.0  # seconds between batches pulling relayed events off their documents (one command per
# collection and batch: at 50 applications/s a batch holds ~50 applications' events; well within SWEEP_GRACE)
# The backstop: how often each replica looks for events whose relay right after their write did not happen (a
# process killed in between, the broker away). Every look is a query per outbox, whether or not anything is due.
SWEEP_INTERVAL = 2.0
SWEEP_GRACE = timedelta(seconds=3)  # an event on a document this old was not relayed right after its write


class ServiceBase:
    """Shared by every service class: the outbox sweep, a health RPC and `self.settings` (the process's)."""

    name: str = ""
    store: ServiceStore
    settings = ServiceSettings()
    bus = Bus()
    observe = Observability()

    @timer(interval=SWEEP_INTERVAL)
    def relay_outbox(self):
        # Events whose immediate relay failed (broker away, process killed after commit) go out here.
        self.bus.relay_pending()
        self.bus.sweep_documents()

    def erase_candidate_data(self, payload, envelope, erase_own) -> None:
        """This service's part of an erasure (shared/erasure.py): its dead letters about the candidate (in the
        broker, so outside the transaction), then its own records, outbox and tombstone in one unit of work."""
        dropped = purge_dead_letters(amqp_uri(), self.name, erasure.dead_letter_needles(payload))
        self.bus.transact(lambda uow: erasure.erase_own_records(uow, payload, self.name, erase_own, dropped),
                          envelope)

    @rpc
    def health(self):
        """The probe (shared/contracts/rpc.py HEALTH): no caller, nothing personal; its answer as declared."""
        return HEALTH[self.name].dump_result({
            "service": self.name,
            "instance": INSTANCE_ID,
            "version": self.settings.version,
            "uptime_seconds": round(time.time() - STARTED_AT, 1),
            "store": "ok" if self.store.ping() else "down",
            "broker": "ok",
            "outbox_backlog": self.store.outbox_backlog(),
            "metrics_port": self.settings.metrics_port,
            "python": sys.version.split()[0],
        })
