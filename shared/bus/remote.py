"""Calling another service from inside a nameko worker.

nameko has no RPC timeout between services: a call to a service whose queue exists but whose
processes are down waits forever and holds a worker. `ask` bounds every such call.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import eventlet

from shared.contracts.commands import NotificationPolicy
from shared.contracts.notification import GetPolicy
from shared.contracts.rpc import Rpc

log = logging.getLogger("hireloop.remote")
POLICY_TIMEOUT = 3.0
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


def policy_seconds(notification, division: str, field: str, timeout: float = POLICY_TIMEOUT) -> int:
    """One delay of a division's notification policy; the default when notification cannot say (policies
    are refinements with safe defaults, so a slow notification service must not block the caller)."""
    default = getattr(NotificationPolicy(), field)
    try:
        # The answer is read into the declared Policy: a wrong or missing delay fails here, like no answer.
        return getattr(call(notification, GetPolicy, timeout, division=division), field)
    except Exception as exc:  # noqa: BLE001 - down, slow, refused or malformed: fall back to the default
        log.warning("policy unavailable, using the default", extra={"division": division, "field": field,
                                                                     "error": repr(exc)})
        return default
