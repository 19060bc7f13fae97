"""An in-process stand-in for the services behind the gateway (the seam of gateway/rpc.py), so the gateway
runs in a test with no broker and no service: `create_app(settings, services=FakeServices())`. The
lifespan then connects to MongoDB and Redis only (the fake's `connect` does nothing).

A test says what each declared RPC (shared/contracts/<service>.py) answers: a value, an exception to raise
(the domain errors of shared/errors.py, ServiceUnavailable, RemoteError), or a function of the call. Every
call is recorded with its caller. Arguments and answers go through JSON as they would on the wire: the
arguments validated by the declaration, the answer read into the declared type, as the real client does. A
call nobody answered raises LookupError, which TestClient re-raises in the test.

`answer_declared(ids)` stands for every service at once, as services that hold one object per id of `ids`:
each declared RPC answers a valid answer of its declared type (`sample`) for those ids and NotFound for any
other (the API fuzz test, gateway/tests/test_api_fuzz.py).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter

from gateway.rpc import Passed
from shared.bus.topology import topic_matches
from shared.contracts.caller import Caller
from shared.contracts.common import SERVICES
from shared.contracts.rpc import Rpc, declared
from shared.errors import NotFound


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

    def answer(self, target: Rpc, answer: Any) -> None:
        """What the declared RPC `target` answers from now on: a value, an exception to raise, or a function
        (plain or async) of the `Call` returning the answer or raising."""
        self._answers[(target.service, target.method)] = answer

    def answer_declared(self, ids: Mapping[str, Any]) -> None:
        """Every declared RPC (shared/contracts) answers as a service holding one object per id of `ids`
        (`{"application_id": "app_1", "division": "retail", ...}`) would: a call naming another id (an argument
        `<kind>_id` not in `ids`, or with another value) is NotFound, or an empty list or page when a list is
        what it answers; any other call gets `sample(its declared answer type, ids)`."""
        for service in SERVICES:
            for declaration in declared(service).values():
                self.answer(declaration, _holding(declaration.returns, ids))

    def registers(self, *divisions: str) -> FakeServices:
        """sourcing's GetDivision as a sourcing with records of exactly `divisions` answers it (the gateway asks
        it before an API key or a policy names a division: gateway/divisions.py); any other: NotFound."""
        from shared.contracts.sourcing import GetDivision

        registered = set(divisions)

        def get(call: Call) -> Any:
            division = call.kwargs["division_id"]
            if division not in registered:
                raise NotFound(f"division {division} not found")
            return sample(GetDivision.returns, {"id": division})
        self.answer(GetDivision, get)
        return self

    def calls_to(self, target: Rpc) -> list[Call]:
        return [c for c in self.calls if (c.service, c.method) == (target.service, target.method)]

    # -- the seam (gateway/rpc.py ServiceCalls) -------------------------------------------------------------
    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def __call__(self, target: Rpc, caller: Caller | None, request: Request | None = None,
                       **kwargs: Any) -> Any:
        service, method = target.service, target.method
        correlation_id = getattr(getattr(request, "state", None), "request_id", None)
        kwargs = target.request(**kwargs)  # Invalid naming the field, before anything is sent
        # What a service would receive: the RPC client sends the arguments as JSON (default=str).
        call = Call(service, method, caller, json.loads(json.dumps(kwargs, default=str)), correlation_id)
        self.calls.append(call)
        answer = await self._answer(call)
        return target.read_result(answer)

    async def passthrough(self, target: Rpc, caller: Caller | None, request: Request | None = None,
                          **kwargs: Any) -> Passed:
        """As a service would send it: serialised through the declaration (an answer that does not hold to
        it fails, as in the service), then the JSON bytes and their decoded value."""
        correlation_id = getattr(getattr(request, "state", None), "request_id", None)
        kwargs = target.request(**kwargs)
        call = Call(target.service, target.method, caller, json.loads(json.dumps(kwargs, default=str)),
                    correlation_id)
        self.calls.append(call)
        body = json.dumps(target.dump_result(await self._answer(call))).encode()
        return Passed(json.loads(body), body)

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
            if heard_exchange == exchange and any(topic_matches(k, routing_key) for k in keys):
                await on_message(SimpleNamespace(body=body, routing_key=routing_key))

    async def _answer(self, call: Call) -> Any:
        try:
            answer = self._answers[(call.service, call.method)]
        except KeyError:
            raise LookupError(f"FakeServices: no answer for {call.service}.{call.method}; "
                              f"give one with answer(<its declaration>, ...)") from None
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(call)
            if inspect.isawaitable(answer):
                answer = await answer
        return json.loads(json.dumps(answer))  # a copy, as decoded from a reply


def _holding(returns: Any, ids: Mapping[str, Any]):
    answer = sample(returns, ids)
    # A list, or a page of one, filtered by an id it does not hold is empty; one object is not found.
    nothing = [] if isinstance(answer, list) else {**answer, "items": [], "next_cursor": None} if (
        isinstance(answer, dict) and isinstance(answer.get("items"), list) and "next_cursor" in answer) else None

    def found(call: Call) -> Any:
        for name, value in call.kwargs.items():
            if name.endswith("_id") and value is not None and value != ids.get(name):
                if nothing is not None:
                    return nothing
                raise NotFound(f"{name.removesuffix('_id')} {value} not found")
        return answer
    return found


# -- valid answers, made from their types -----------------------------------------------------------------
SAMPLE_TIME = "2026-12-01T09:00:00Z"


def sample(returns: Any, ids: Mapping[str, Any] | None = None) -> Any:
    """A valid value of `returns` (a model, a list of them, ...: what a declaration answers), in its JSON form,
    made from its JSON schema: every field present, the first choice of each union and enum (not null when
    something else is allowed), one item in each list, the least each bound allows. A field named as a key of
    `ids` takes that value (an id, or any field a test wants: `{"competencies": ["dough"]}`), and an object's
    `id` the value of the id of its kind (`application_id` for an object whose type is named Application...).
    Checked against `returns` before it is used."""
    adapter = TypeAdapter(returns)
    schema = adapter.json_schema(mode="serialization")
    value = _sample(schema, schema.get("$defs", {}), dict(ids or {}), "", "")
    adapter.validate_python(value)  # a sample its own type refuses would test nothing
    return value


def _sample(schema: dict, defs: dict, ids: dict[str, Any], name: str, owner: str) -> Any:
    # A list given for a name that is also a map elsewhere (an interview's `competencies` and its kit's) fits
    # only the list.
    if name in ids and not (isinstance(ids[name], list) and schema.get("type") == "object"):
        return ids[name]
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, ids, name, owner)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return _sample(options[0], defs, ids, name, owner)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "null" or kind is None and not schema:
        return None
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "string":
        return _string(schema, ids, name, owner)
    if kind == "array":
        count = max(schema.get("minItems", 1), 1) if schema.get("maxItems", 1) else 0
        return [_sample(schema.get("items", {}), defs, ids, name, owner) for _ in range(count)]
    if kind == "object" or "properties" in schema:
        title = schema.get("title", owner)
        value = {prop: _sample(sub, defs, ids, prop, title) for prop, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if not schema.get("properties") and isinstance(extra, dict) and extra:
            value["x"] = _sample(extra, defs, ids, "x", title)
        return value
    return None


def _number(schema: dict, kind: str) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", -float("inf")))
    high = schema.get("maximum", schema.get("exclusiveMaximum", float("inf")))
    value = min(max(1, low), high)
    if value == schema.get("exclusiveMinimum"):
        value += 1
    if value == schema.get("exclusiveMaximum"):
        value -= 1
    return int(value) if kind == "integer" else float(value)


def _string(schema: dict, ids: dict[str, Any], name: str, owner: str) -> str:
    if name == "id":
        kind = next((k for k in ids if k.endswith("_id") and k.removesuffix("_id") in owner.lower()), None)
        value = ids[kind] if kind else f"{owner.lower() or 'object'}_1"
    elif schema.get("format") == "date-time" or name == "at" or name.endswith("_at"):
        value = SAMPLE_TIME
    elif schema.get("format") == "date":
        value = SAMPLE_TIME[:10]
    elif "email" in name or schema.get("format") == "email":
        value = "someone@example.org"
    elif name.endswith("url"):
        value = "https://example.org/hook"
    else:
        value = "x" * max(schema.get("minLength", 1), 1)
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        raise ValueError(f"sample: no value for {owner}.{name} matching {pattern!r}: give it in `ids`")
    return value
