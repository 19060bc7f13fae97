"""The gateway's seam to the services: one object that calls them, handed to routes as a FastAPI dependency
(gateway/deps.py `Rpc`), so tests replace it with an in-process fake (gateway/testing.py).

A call names its declaration (shared/contracts/<service>.py), the caller whose signed context it carries, the
HTTP request it serves (for the correlation id) and the method's arguments: `await rpc(sourcing.GetRequisition,
caller, request, requisition_id=...)`: arguments validated and sent in their JSON form, the answer read into
the declared type (`AsyncRpcClient.rpc`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from gateway import metrics
from shared.bus.aio_rpc import AsyncRpcClient
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.contracts.rpc import HEALTH, Rpc
from shared.errors import DomainError


@dataclass(frozen=True)
class Passed:
    """An answer to pass on as the service sent it: `body` its JSON bytes (the service serialised it through
    the declared type, so it holds to the contract), `value` the same decoded into plain JSON values (for
    what the gateway reads of it, e.g. the audit's candidate ids)."""
    value: Any
    body: bytes


class ServiceCalls(Protocol):
    """What the gateway needs of the services: calls, their health, and the broker's view of their queues."""

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def __call__(self, target: Any, caller: Caller | None, request: Request | None = None,
                       **kwargs: Any) -> Any: ...

    async def passthrough(self, target: Any, caller: Caller | None, request: Request | None = None,
                          **kwargs: Any) -> Passed: ...

    async def health(self, service: str, timeout: float = 3) -> dict: ...

    async def queue_depths(self, names: list[str]) -> dict[str, tuple[int, int]]: ...

    async def listen(self, exchange: str, routing_keys: list[str], on_message) -> None: ...


class RpcServices:
    """The real one: nameko RPC over RabbitMQ (shared/bus/aio_rpc.py), every call timed in the metrics."""

    def __init__(self, settings: Settings):
        self.client = AsyncRpcClient(settings.rabbit_url, name="gateway", timeout=settings.rpc_timeout,
                                     context_secret=settings.context_secret,
                                     predeclared=settings.predeclared_topology)

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def connect(self) -> None:
        await self.client.connect()

    async def close(self) -> None:
        await self.client.close()

    async def __call__(self, target: Rpc, caller: Caller | None, request: Request | None = None,
                       **kwargs: Any) -> Any:
        return await self._timed(target, caller, request, False, kwargs)

    async def passthrough(self, target: Rpc, caller: Caller | None, request: Request | None = None,
                          **kwargs: Any) -> Passed:
        return Passed(*await self._timed(target, caller, request, True, kwargs))

    async def _timed(self, target: Rpc, caller: Caller | None, request: Request | None, raw: bool,
                     kwargs: dict[str, Any]) -> Any:
        service, method = target.service, target.method
        context = {"correlation_id": getattr(getattr(request, "state", None), "request_id", None)}
        started = time.perf_counter()
        outcome = "ok"
        try:
            # The caller context is signed for this call only (service, method, arguments; shared/context.py).
            if raw:
                return await self.client.rpc_json(target, caller, context=context, **kwargs)
            return await self.client.rpc(target, caller, context=context, **kwargs)
        except DomainError:
            outcome = "domain_error"
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            metrics.observe_rpc(service, method, outcome, time.perf_counter() - started)

    async def health(self, service: str, timeout: float = 3) -> dict:
        # A probe (readiness, the admin's service list), not a caller's request: not in the RPC metrics.
        return (await self.client.rpc(HEALTH[service], None, timeout=timeout)).model_dump()

    async def queue_depths(self, names: list[str]) -> dict[str, tuple[int, int]]:
        return await self.client.queue_depths(names)

    async def listen(self, exchange: str, routing_keys: list[str], on_message) -> None:
        await self.client.listen(exchange, routing_keys, on_message)
