"""Calling another service from inside a nameko worker.

nameko has no RPC timeout between services: a call to a service whose queue exists but whose
processes are down waits forever and holds a worker. `ask` bounds every such call.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import eventlet

from shared.contracts.rpc import Rpc

log = logging.getLogger("hireloop.remote")
R = TypeVar("R")


class UpstreamUnavailable(Exception):
    """Another service did not answer in time; the gateway answers 503 with Retry-After."""


def ask(method, timeout: float, **kwargs: Any) -> Any:
    """Call `method` (a ServiceRpc method) and wait at most `timeout` seconds."""
    reply = method.call_async(**kwargs)
    try:
        with eventlet.Timeout(timeout):
            return reply.result()
    except eventlet.Timeout:
        raise UpstreamUnavailable(f"no reply within {timeout:g}s") from None


def call(service, declared: Rpc[Any, R], timeout: float, **kwargs: Any) -> R:
    """Call a declared RPC (shared/contracts/rpc.py) through `service`, the service's CallerRpc of the
    declaration's service: arguments validated and sent in their JSON form, the answer read back into the
    declared type, the wait bounded by `timeout`."""
    if getattr(service, "service_name", declared.service) != declared.service:
        raise TypeError(f"{declared.name} called through the client of {service.service_name}")
    raw = ask(getattr(service, declared.method), timeout, **declared.request(**kwargs))
    return declared.read_result(raw)


def call_or_none(service, declared: Rpc[Any, R], timeout: float, **kwargs: Any) -> R | None:
    """`call`, or None when the other service did not answer (in time, or at all) or answered what its
    declaration does not allow (logged): for what the caller can do without (a division's policy,
    shared/policy.py)."""
    try:
        return call(service, declared, timeout, **kwargs)
    except Exception as exc:  # noqa: BLE001 - down, slow, refused or malformed: the caller goes on without it
        log.warning("no usable answer, going on without it", extra={"call": declared.name, "error": repr(exc)})
        return None
