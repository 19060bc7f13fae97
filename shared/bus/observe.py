"""Traces, metrics and logs around every nameko worker. Only the service shells' extensions import this.

- Tracing: nameko's OpenTelemetry instrumentation opens a span per worker, continuing the trace from the
  message's `nameko.traceparent` header. The adapters below name spans and set attributes after the
  semantic conventions (RPC server, messaging consumer) plus hireloop ids, and never copy arguments,
  payloads or exception messages (they can hold personal data). Its publisher patch is not installed: it
  would put the broker URL, credentials included, on spans.
- `Observability` (a dependency of every service) counts and times each worker by outcome, tags its span
  and log lines with the ids it works on, and writes one log line per RPC and event handled.
- `start_metrics_server` serves the process's Prometheus metrics on METRICS_PORT (an eventlet WSGI server).
"""

from __future__ import annotations

import logging
import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import Timer
from nameko_opentelemetry.entrypoints import EntrypointAdapter
from opentelemetry import trace

from shared import metrics, tracing
from shared.bus import topology
from shared.config import Settings
from shared.errors import DomainError, NotYet
from shared.logs import reset_log_context, set_log_context
from shared.tracing.sampling import TIMER_PREFIX

log = logging.getLogger("hireloop.worker")


def _is_event(entrypoint) -> bool:
    return hasattr(entrypoint, "producer") and hasattr(entrypoint, "event_type")


def entrypoint_kind(entrypoint) -> str:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if _is_event(entrypoint):
        return "event"
    if isinstance(entrypoint, Timer):
        return "timer"
    return type(entrypoint).__name__.lower()


def entrypoint_name(entrypoint) -> str:
    if _is_event(entrypoint):
        return f"{entrypoint.producer}.{entrypoint.event_type}"
    return entrypoint.method_name


def worker_ids(worker_ctx) -> dict[str, str]:
    """hireloop ids a worker is about: from an event's payload, or an RPC's keyword arguments."""
    if _is_event(worker_ctx.entrypoint):
        return tracing.ids_of(*worker_ctx.args[:1])
    kwargs = worker_ctx.kwargs or {}
    return tracing.ids_of(kwargs, kwargs.get("data"))


# ----------------------------------------------------------------------------------------------------
# span adapters for nameko's OpenTelemetry instrumentation


class _Adapter(EntrypointAdapter):
    def get_attributes(self, worker_ctx):
        return {"hireloop.service": worker_ctx.service_name, **worker_ids(worker_ctx)}

    def end_span(self, span, worker_ctx, result, exc_info):
        if span.is_recording() and exc_info:
            tracing.record_error(span, exc_info[1], expected=self.exception_was_expected(worker_ctx, exc_info[1]))


class RpcAdapter(_Adapter):
    span_kind = trace.SpanKind.SERVER

    def get_span_name(self, worker_ctx):
        return f"{worker_ctx.service_name}/{worker_ctx.entrypoint.method_name}"

    def get_attributes(self, worker_ctx):
        service, method = worker_ctx.service_name, worker_ctx.entrypoint.method_name
        return {
            **super().get_attributes(worker_ctx),
            "rpc.system": "nameko",
            "rpc.service": service,
            "rpc.method": method,
            "messaging.system": "rabbitmq",
            "messaging.destination.name": topology.RPC_EXCHANGE,
            "messaging.rabbitmq.destination.routing_key": f"{service}.{method}",
        }


class EventAdapter(_Adapter):
    span_kind = trace.SpanKind.CONSUMER

    def get_span_name(self, worker_ctx):
        return f"process {entrypoint_name(worker_ctx.entrypoint)}"

    def get_attributes(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        envelope = worker_ctx.args[1] if len(worker_ctx.args) > 1 else None
        attributes = {
            **super().get_attributes(worker_ctx),
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": topology.events_exchange(entrypoint.producer),
            "messaging.rabbitmq.destination.routing_key": entrypoint.event_type,
            "messaging.consumer.group.name": topology.inbox_queue(worker_ctx.service_name),
        }
        if envelope is not None:
            attributes["messaging.message.id"] = envelope.event_id
        return attributes


class TimerAdapter(_Adapter):
    span_kind = trace.SpanKind.INTERNAL

    def get_span_name(self, worker_ctx):
        # "timer " roots are not sampled (shared.tracing.sampling): ticks are not traces.
        return f"{TIMER_PREFIX}{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"


ADAPTERS = {
    "shared.bus.nameko_ext.HireloopRpc": "shared.bus.observe.RpcAdapter",
    "shared.bus.nameko_ext.EventHandler": "shared.bus.observe.EventAdapter",
    "nameko.timer.Timer": "shared.bus.observe.TimerAdapter",
    "shared.bus.configured.ConfiguredTimer": "shared.bus.observe.TimerAdapter",  # adapters go by exact type
}


def install_tracing(service: str, settings: Settings) -> bool:
    """Set up the tracer provider and patch nameko's containers and RPC client; False when tracing is off."""
    if tracing.setup_tracing(service, settings) is None:
        return False
    import nameko_opentelemetry
    from nameko_opentelemetry import entrypoints, rpc

    tracer = nameko_opentelemetry.active_tracer()
    config = {"entrypoint_adapters": ADAPTERS}
    entrypoints.instrument(tracer, config)
    rpc.instrument(tracer, config)  # service-to-service RPC: client spans, context into the request headers
    return True


# ----------------------------------------------------------------------------------------------------
# metrics and logs per worker


def outcome_of(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if type(exc).__name__ == "AlreadyHandled":
        return "duplicate"
    if isinstance(exc, NotYet):
        return "not_yet"
    if isinstance(exc, DomainError):
        return "domain_error"
    return "error"


class Observability(DependencyProvider):
    def setup(self):
        self.service = self.container.service_name
        self.started: WeakKeyDictionary = WeakKeyDictionary()

    def start(self):
        store = next((d.store for d in self.container.dependencies if getattr(d, "attr_name", "") == "store"), None)
        if store is not None:
            metrics.gauge_from(metrics.OUTBOX_BACKLOG, (self.service,), store.outbox_backlog)
            for state in getattr(store, "SCHEDULER_STATES", ()):
                metrics.gauge_from(metrics.SCHEDULER_BACKLOG, (self.service, state),
                                   lambda s=state: store.scheduler_backlog(s))

    def worker_setup(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        kind, name = entrypoint_kind(entrypoint), entrypoint_name(entrypoint)
        ids = worker_ids(worker_ctx)
        event = worker_ctx.context_data.get("hireloop_event") or {}
        fields = {
            "entrypoint": f"{kind}:{name}",
            "event_type": event.get("type"),
            "event_id": event.get("event_id"),
            **{attr.split(".", 1)[1]: value for attr, value in ids.items()},
        }
        token = set_log_context(**fields)
        self.started[worker_ctx] = (time.perf_counter(), kind, name, tracing.current_ids(), token)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.get(worker_ctx)
        if started is None:
            return
        began, kind, name, ids, _ = started
        seconds = time.perf_counter() - began
        outcome = outcome_of(exc_info[1] if exc_info else None)
        metrics.WORKERS.labels(self.service, kind, name, outcome).inc()
        metrics.WORKER_LATENCY.labels(self.service, kind, name).observe(seconds)
        if kind == "timer" and outcome == "ok":
            return  # ticks every second: counted, not logged
        extra = {"outcome": outcome, "duration_ms": round(seconds * 1000, 1)}
        if ids:
            extra["trace_id"], extra["span_id"] = ids
        if exc_info and outcome != "ok":
            extra["error_type"] = type(exc_info[1]).__name__
        level = logging.WARNING if outcome == "error" else logging.DEBUG if name == "health" else logging.INFO
        log.log(level, f"handled {kind} {name}", extra=extra)

    def worker_teardown(self, worker_ctx):
        started = self.started.pop(worker_ctx, None)
        if started is not None:
            try:
                reset_log_context(started[4])
            except ValueError:  # set in another context (should not happen): nothing to undo
                pass


def start_metrics_server(port: int) -> None:
    """Serve /metrics (Prometheus text) on `port`, in a green thread of this service process."""
    import eventlet
    import eventlet.wsgi
    from prometheus_client import make_wsgi_app

    app = make_wsgi_app(metrics.REGISTRY)
    sock = eventlet.listen(("0.0.0.0", port))
    eventlet.spawn(eventlet.wsgi.server, sock, app, log_output=False)
    log.info("metrics served", extra={"port": port})
