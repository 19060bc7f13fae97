"""An in-process stand-in for the services behind the gateway (the seam of gateway/rpc.py), so the gateway
runs in a test with no broker and no service: `create_app(settings, services=FakeServices())`. The
lifespan then connects to MongoDB and Redis only (the fake's `connect` does nothing).

A test says what each (service, method) answers: a value, an exception to raise (the domain errors of
shared/errors.py, ServiceUnavailable, RemoteError), or a function of the call. Every call is recorded with
its caller. Arguments and answers go through JSON as they would on the wire; a call by a declaration
(shared/contracts/rpc.py) has its arguments validated and its answer read into the declared type, as the
real client does. A call nobody answered raises LookupError, which TestClient re-raises in the test.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from fastapi import Request

from gateway.rpc import address
from shared.contracts.caller import Caller
from shared.contracts.rpc import Rpc


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    caller: Caller | None
    kwargs: dict[str, Any]
    correlation_id: str | None = None


class FakeServices:
    def __init__(self):
        self.connected = True  # what /readyz reports as the broker
        self.depths: dict[str, tuple[int, int]] = {}  # queue -> (messages ready, consumers), for /metrics
        self.reset()

    def reset(self) -> None:
        """Forget every answer, call and listener (between tests sharing one app)."""
        self.calls: list[Call] = []
        self.listeners: list[tuple[str, list[str], Any]] = []
        self._answers: dict[tuple[str, str], Any] = {}

    def answer(self, target: Any, answer: Any) -> None:
        """What `target` ((service, method) or a contract) answers from now on: a value, an exception to
        raise, or a function (plain or async) of the `Call` returning the answer or raising."""
        self._answers[address(target)] = answer

    def calls_to(self, target: Any) -> list[Call]:
        service, method = address(target)
        return [c for c in self.calls if (c.service, c.method) == (service, method)]

    # -- the seam (gateway/rpc.py ServiceCalls) -------------------------------------------------------------
    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def __call__(self, target: Any, caller: Caller | None, request: Request | None = None,
                       **kwargs: Any) -> Any:
        service, method = address(target)
        correlation_id = getattr(getattr(request, "state", None), "request_id", None)
        if isinstance(target, Rpc):
            kwargs = target.request(**kwargs)  # Invalid naming the field, before anything is sent
        # What a service would receive: the RPC client sends the arguments as JSON (default=str).
        call = Call(service, method, caller, json.loads(json.dumps(kwargs, default=str)), correlation_id)
        self.calls.append(call)
        answer = await self._answer(call)
        return target.read_result(answer) if isinstance(target, Rpc) else answer

    async def health(self, service: str, timeout: float = 3) -> dict:
        call = Call(service, "health", None, {})
        self.calls.append(call)
        if (service, "health") not in self._answers:  # healthy unless a test says otherwise
            return {"service": service, "instance": "fake", "store": "ok", "broker": "ok"}
        return await self._answer(call)

    async def queue_depths(self, names: list[str]) -> dict[str, tuple[int, int]]:
        return {name: depth for name, depth in self.depths.items() if name in names}

    async def listen(self, exchange: str, routing_keys: list[str], on_message) -> None:
        self.listeners.append((exchange, list(routing_keys), on_message))

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        """An event as the listeners of `exchange` with that routing key would hear it."""
        for heard_exchange, keys, on_message in list(self.listeners):
            if heard_exchange == exchange and routing_key in keys:
                await on_message(SimpleNamespace(body=body, routing_key=routing_key))

    async def _answer(self, call: Call) -> Any:
        try:
            answer = self._answers[(call.service, call.method)]
        except KeyError:
            raise LookupError(f"FakeServices: no answer for {call.service}.{call.method}; "
                              f"give one with answer(({call.service!r}, {call.method!r}), ...)") from None
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(call)
            if inspect.isawaitable(answer):
                answer = await answer
        return json.loads(json.dumps(answer))  # a copy, as decoded from a reply
