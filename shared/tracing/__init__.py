"""OpenTelemetry for every hireloop process: one trace from the gateway request through RabbitMQ to every
service and store.

- `setup_tracing(service, settings)` installs a tracer provider once per process. Spans go to OTLP when
  `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set, else to the JSON-lines file named by
  `HIRELOOP_TRACES_FILE` (`make run` sets `var/traces.jsonl`; `make traces` prints it), else nowhere:
  without a provider every span below is a no-op, so unit tests pay nothing.
- Context crosses RabbitMQ as W3C trace context in the `nameko.traceparent` header (nameko's own way to
  carry context data), written by the gateway's RPC client and by the outbox relay.
- Spans carry ids (`hireloop.division`, `hireloop.application_id`, `hireloop.requisition_id`), never
  personal data: exceptions are recorded by type only, MongoDB statements are not captured and Redis
  arguments are masked by their instrumentations.

This module has no nameko import; the nameko entrypoint adapters live in `shared.bus.observe`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("hireloop.tracing")

TRACER_NAME = "hireloop"
NAMEKO_PREFIX = "nameko."
# Our own spans' attributes, besides the semantic-convention ones.
DIVISION, APPLICATION_ID, REQUISITION_ID = "hireloop.division", "hireloop.application_id", "hireloop.requisition_id"
ID_ATTRIBUTES = {"division": DIVISION, "application_id": APPLICATION_ID, "requisition_id": REQUISITION_ID}

_provider = None


def enabled() -> bool:
    return _provider is not None


def setup_tracing(service: str, settings: Settings):
    """Install the process's tracer provider (once) and instrument Redis, and PyMongo when
    HIRELOOP_TRACE_DB_COMMANDS asks for a span per command. Returns the provider,
    or None when no exporter is configured (tracing stays a no-op)."""
    global _provider
    if _provider is not None:
        return _provider
    endpoint, path = settings.otlp_traces_url, settings.traces_file
    if settings.tracing_disabled or not (endpoint or path):
        return None

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased

    from shared.tracing.sampling import QuietRoots

    resource = Resource.create({
        "service.name": service,
        "service.namespace": "hireloop",
        "service.version": settings.version,
        "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
    })
    provider = TracerProvider(resource=resource, sampler=ParentBased(root=QuietRoots(settings.traces_sample_ratio)))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        where = f"OTLP {endpoint}"
    else:
        from shared.tracing.files import JsonLinesSpanExporter

        # A short delay: a developer looking at `make traces` right after a request should see it.
        provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(path), schedule_delay_millis=500))
        where = path
    trace.set_tracer_provider(provider)
    _instrument_clients(provider, settings)
    _provider = provider
    log.info("tracing on", extra={"exporter": where})
    return provider


def _instrument_clients(provider, settings: Settings) -> None:
    # Registered before any client exists: PyMongo captures its command listeners at client creation.
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    if settings.trace_db_commands:
        # A span per MongoDB command only when asked (HIRELOOP_TRACE_DB_COMMANDS): it costs every command.
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

        PymongoInstrumentor().instrument(tracer_provider=provider, capture_statement=False)
    RedisInstrumentor().instrument(tracer_provider=provider)


def shutdown() -> None:
    """Flush buffered spans (at process exit; the SDK also does it at interpreter exit)."""
    if _provider is not None:
        _provider.shutdown()


def tracer() -> trace.Tracer:
    provider = _provider if _provider is not None else trace.get_tracer_provider()
    return provider.get_tracer(TRACER_NAME)


# ----------------------------------------------------------------------------------------------------
# context across RabbitMQ


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span as hex, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def inject_into(carrier: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Write the current trace context (traceparent, tracestate) into `carrier`, keys prefixed."""
    fields: dict[str, str] = {}
    propagate.inject(fields)
    for key, value in fields.items():
        carrier[prefix + key] = value
    return carrier


def nameko_headers() -> dict[str, str]:
    """AMQP headers carrying the current trace context the way nameko reads it (`nameko.traceparent`)."""
    return inject_into({}, NAMEKO_PREFIX)


def extract_from(headers: Mapping[str, Any] | None, prefix: str = NAMEKO_PREFIX) -> otel_context.Context:
    """The trace context stored in message headers (`nameko.traceparent`)."""
    carrier = {k[len(prefix):]: v for k, v in (headers or {}).items() if isinstance(k, str) and k.startswith(prefix)}
    return propagate.extract(carrier, context=otel_context.Context())


def link_to(headers: Mapping[str, Any] | None, prefix: str = NAMEKO_PREFIX) -> list[Link]:
    """A span link to the trace recorded in `headers`, for work that runs later than what caused it."""
    span_context = trace.get_current_span(extract_from(headers, prefix)).get_span_context()
    return [Link(span_context, {"hireloop.link": "scheduled_by"})] if span_context.is_valid else []


# ----------------------------------------------------------------------------------------------------
# spans


def ids_of(*sources: Any) -> dict[str, str]:
    """hireloop id attributes found in dicts or pydantic models (top level, or a nested `requisition`)."""
    found: dict[str, str] = {}
    for source in sources:
        data = source.model_dump(mode="json") if hasattr(source, "model_dump") else source
        if not isinstance(data, Mapping):
            continue
        nested = data.get("requisition")
        for key, attribute in ID_ATTRIBUTES.items():
            value = data.get(key)
            if value is None and isinstance(nested, Mapping):
                value = nested.get("id" if key == "requisition_id" else key)
            if isinstance(value, str) and value and attribute not in found:
                found[attribute] = value
    return found


def set_ids(span: trace.Span | None = None, **ids: str | None) -> None:
    """Tag a span (default: the current one) with hireloop ids; None values are skipped."""
    span = span or trace.get_current_span()
    if span.is_recording():
        span.set_attributes({ID_ATTRIBUTES[k]: v for k, v in ids.items() if v and k in ID_ATTRIBUTES})


def record_error(span: trace.Span, exc: BaseException, *, expected: bool) -> None:
    """Record an exception by its type only: messages can hold personal data (e.g. a validation error
    quoting an email address). The logs of the same trace id have the rest."""
    name = type(exc).__qualname__
    span.set_attribute("error.type", name)
    span.add_event("exception", {"exception.type": name, "exception.expected": expected})
    if not expected:
        span.set_status(Status(StatusCode.ERROR, name))


@contextmanager
def producer_span(exchange: str, routing_key: str, message_id: str, headers: dict[str, Any]) -> Iterator[dict]:
    """A PRODUCER span around publishing an outbox event, parented by the span that emitted it (its
    context was stored with the event). Yields the headers to publish, carrying this span's context."""
    parent = extract_from(headers)
    with tracer().start_as_current_span(
        f"publish {exchange.removesuffix('.events')}.{routing_key}",
        context=parent,
        kind=SpanKind.PRODUCER,
        record_exception=False,  # by type only, below
        set_status_on_exception=False,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "publish",
            "messaging.operation.name": "publish",
            "messaging.destination.name": exchange,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": message_id,
        },
    ) as span:
        outgoing = {k: v for k, v in headers.items() if not k.startswith(NAMEKO_PREFIX + "trace")}
        try:
            if enabled():
                yield inject_into(outgoing, NAMEKO_PREFIX)
            else:
                yield dict(headers)  # not tracing here: pass the stored context on unchanged
        except Exception as exc:
            record_error(span, exc, expected=False)
            raise


def stored_context() -> dict[str, str]:
    """The current trace context as a small dict to store with work that runs later (a scheduled notice)."""
    return inject_into({})


@contextmanager
def deferred_span(name: str, scheduled_by: Mapping[str, Any] | None, **ids: str | None) -> Iterator[trace.Span]:
    """A span for work scheduled earlier. Inside a traced worker (a notice due at once, sent by the handler
    that created it) it is a child of that worker; from a timer tick it starts a new trace, linked to the
    trace that scheduled it (`scheduled_by`, from `stored_context()`)."""
    in_trace = trace.get_current_span().is_recording()
    with tracer().start_as_current_span(
        name,
        context=None if in_trace else otel_context.Context(),
        links=[] if in_trace else link_to(scheduled_by, prefix=""),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        set_ids(span, **ids)
        try:
            yield span
        except Exception as exc:
            record_error(span, exc, expected=False)
            raise
