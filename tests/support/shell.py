"""Service shells in process: nameko's worker_factory with a small bus (the same unit of work and inbox as
the real one, no broker) and stand-ins for other services at the typed seam (shared/contracts/rpc.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.contracts.rpc import Rpc
from shared.erasure import subjects
from shared.timeutil import iso, utcnow


class InProcessBus:
    """The Bus handle's contract (caller, transact with inbox, write of one document) without a broker."""

    def __init__(self, store, caller):
        self.store = store
        self.caller = caller
        self.emitted: list[EventEnvelope] = []

    def transact(self, work, envelope=None):
        # As the real bus: an event about an erased candidate changes nothing (shared/erasure.py).
        result, emitted = self.store.transact(work, inbox_event_id=envelope.event_id if envelope else None,
                                              about=subjects(envelope.type, envelope.payload) if envelope else None)
        for e in emitted:  # every payload must satisfy its contract, as its consumers will read it
            EVENT_MODELS[(e.producer, e.type)].model_validate(e.payload)
        self.emitted.extend(emitted)
        return result

    def write(self, collection, doc_id, decide, envelope=None):
        # As the real bus: one document, one write (ServiceStore.write_document), then the events go out
        # (here: recorded, and pulled off the document as the relay's batch would).
        doc, emitted, entries = self.store.write_document(
            collection, doc_id, decide, event_id=envelope.event_id if envelope else None,
            about=subjects(envelope.type, envelope.payload) if envelope else None)
        for e in emitted:
            EVENT_MODELS[(e.producer, e.type)].model_validate(e.payload)
        self.emitted.extend(emitted)
        if entries:
            self.store.clear_relayed(collection, [doc_id], [e["_id"] for e in entries])
        return doc

    def of_type(self, event_type):
        return [e for e in self.emitted if e.type == event_type]

    def payloads(self, event_type):
        return [e.payload for e in self.of_type(event_type)]


class _Reply:
    def __init__(self, thunk):
        self.thunk = thunk

    def result(self):
        return self.thunk()


class _Method:
    def __init__(self, owner: FakeService, name: str):
        self.owner, self.name = owner, name

    def call_async(self, **kwargs):
        declared = self.owner.declared[self.name]
        args = declared.parse_args(kwargs)  # what the real service would parse: a caller's bad call fails here
        self.owner.calls.append((declared, args))
        answer = self.owner.answers[self.name]
        return _Reply(lambda: declared.dump_result(answer(args)))


class FakeService:
    """Another service, as a CallerRpc client of it looks: `fake.<method>.call_async(**kwargs)`. Answers come
    from `answer(Declared, fn)`, where fn takes the parsed arguments; calls are recorded (declaration, args)."""

    def __init__(self, service: str):
        from shared.contracts.rpc import declared

        self.service_name = service
        self.declared = declared(service)
        self.answers: dict[str, Callable[[Any], Any]] = {}
        self.calls: list[tuple[Rpc, Any]] = []

    def answer(self, declared: Rpc, fn: Callable[[Any], Any]) -> FakeService:
        assert declared.service == self.service_name, declared.name
        self.answers[declared.method] = fn
        return self

    def calls_to(self, declared: Rpc) -> list[Any]:
        return [args for d, args in self.calls if d is declared]

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_") or name not in self.declared:
            raise AttributeError(f"{self.service_name} declares no RPC {name!r}")
        if name not in self.answers:
            raise AssertionError(f"the test gave {self.service_name}.{name} no answer")
        return _Method(self, name)


def deliver(handler, producer: str, event_type: str, payload: dict, event_id: str | None = None) -> EventEnvelope:
    """An event as the inbox hands it to a shell's handler: in its envelope, validated by its contract."""
    env = EventEnvelope(type=event_type, producer=producer, payload=payload,
                        **({"event_id": event_id} if event_id else {}))
    handler(EVENT_MODELS[(producer, event_type)].model_validate(env.payload), env)
    return env


def status_changed(svc, app_id: str, status: str, sequence: int, *, division: str = "retail", tier: str = "basic",
                   candidate_id: str = "cand_1", title: str = "Barista", at=None,
                   event_id: str | None = None) -> EventEnvelope:
    """sourcing's `application_status_changed` delivered to a shell that keeps a copy of statuses."""
    payload = {"sequence": sequence, "application_id": app_id, "candidate_id": candidate_id,
               "requisition_id": "req_1", "requisition_title": title, "division": division, "tier": tier,
               "source": "referral", "previous_status": None, "status": status, "at": iso(at or utcnow())}
    return deliver(svc.on_application_status_changed, "sourcing", "application_status_changed", payload, event_id)
