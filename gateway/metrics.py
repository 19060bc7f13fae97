"""Prometheus metrics of the gateway: HTTP requests and RPC calls, by route and method."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry()
HTTP_REQUESTS = Counter("hireloop_http_requests_total", "HTTP requests", ["method", "route", "status"],
                        registry=REGISTRY)
HTTP_LATENCY = Histogram("hireloop_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                         registry=REGISTRY)
RPC_CALLS = Counter("hireloop_rpc_calls_total", "RPC calls from the gateway", ["service", "method", "outcome"],
                    registry=REGISTRY)
RPC_LATENCY = Histogram("hireloop_rpc_duration_seconds", "RPC call latency", ["service", "method"],
                        registry=REGISTRY)


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def observe_rpc(service: str, method: str, outcome: str, seconds: float) -> None:
    RPC_CALLS.labels(service, method, outcome).inc()
    RPC_LATENCY.labels(service, method).observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
