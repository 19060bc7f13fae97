"""Prometheus metrics of the gateway: HTTP requests and RPC calls by route and method, and the depth of
every service queue, read from the broker at scrape time (the gateway is the one process that already
talks to all of them; a service replica would only know its own)."""

from __future__ import annotations

import logging

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from shared.bus import topology
from shared.metrics import BUCKETS

log = logging.getLogger("hireloop.gateway.metrics")

REGISTRY = CollectorRegistry()
HTTP_REQUESTS = Counter("hireloop_http_requests_total", "HTTP requests", ["method", "route", "status"],
                        registry=REGISTRY)
HTTP_LATENCY = Histogram("hireloop_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                         registry=REGISTRY, buckets=BUCKETS)
RPC_CALLS = Counter("hireloop_rpc_calls_total", "RPC calls from the gateway", ["service", "method", "outcome"],
                    registry=REGISTRY)
RPC_LATENCY = Histogram("hireloop_rpc_duration_seconds", "RPC call latency", ["service", "method"],
                        registry=REGISTRY, buckets=BUCKETS)
QUEUE_MESSAGES = Gauge("hireloop_queue_messages", "Messages ready in a service queue (from the broker)",
                       ["service", "queue", "role"], registry=REGISTRY)
QUEUE_CONSUMERS = Gauge("hireloop_queue_consumers", "Consumers of a service queue (from the broker)",
                        ["service", "queue", "role"], registry=REGISTRY)
QUEUE_SCRAPE_ERRORS = Counter("hireloop_queue_scrape_errors_total", "Queue depth reads that failed",
                              registry=REGISTRY)
RATE_LIMITED = Counter("hireloop_rate_limited_total", "Requests refused with 429 by a rate limit, by the limit's scope "
                       "(key, division, anonymous)", ["scope"], registry=REGISTRY)
RATE_LIMIT_ERRORS = Counter("hireloop_rate_limit_errors_total", "Rate-limit checks that failed (Redis down or slow); "
                            "the request went through unlimited", registry=REGISTRY)
ProcessCollector(registry=REGISTRY)


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def observe_rpc(service: str, method: str, outcome: str, seconds: float) -> None:
    RPC_CALLS.labels(service, method, outcome).inc()
    RPC_LATENCY.labels(service, method).observe(seconds)


def _role(queue: str, service: str) -> str:
    roles = {topology.rpc_queue(service): "rpc", topology.inbox_queue(service): "inbox",
             topology.wait_queue(service): "wait", topology.dead_letter_queue(service): "dlq"}
    return roles.get(queue, "other")


async def refresh_queue_depths(rpc) -> None:
    """Read every service queue's depth and consumer count from the broker (passive declares)."""
    names = {spec.name: service for service in topology.SERVICES for spec in topology.queues((service,))}
    try:
        depths = await rpc.queue_depths(list(names))
    except Exception:  # noqa: BLE001 - the rest of /metrics is still worth serving
        QUEUE_SCRAPE_ERRORS.inc()
        log.warning("could not read queue depths", exc_info=True)
        return
    for name, (messages, consumers) in depths.items():
        service = names[name]
        QUEUE_MESSAGES.labels(service, name, _role(name, service)).set(messages)
        QUEUE_CONSUMERS.labels(service, name, _role(name, service)).set(consumers)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
