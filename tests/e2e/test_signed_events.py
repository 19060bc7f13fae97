"""Finding 1 of issue 15: events on the bus were not authenticated. An attacker who can publish on the vhost
sent `decision_recorded` with no headers to `interview_feedback.events` and moved another division's
application to `rejected` (emailing the candidate), and a forged `candidate_erasure_requested` wiped four
services' data.

Here the attacker does it again, straight on the broker, for EVERY event type of the catalogue: unsigned, signed
with another service's key, signed with a key of its own, a genuinely signed event with its payload tampered, a
genuinely signed but stale one, and a genuinely signed one replayed under a new event id. A type some service
consumes is published to its producer's exchange, as a genuine one would be; a type nobody consumes (nothing is
bound to it, so the broker would drop it) is pushed straight into every service's inbox, as an attacker with the
default exchange could. Every copy lands in the dead-letter queue of every service it reached, with the reason,
and nothing changes: the application keeps its status, the candidate keeps their data in every service, no
notice and no mail.
"""

from __future__ import annotations

import types
import typing
import uuid
from datetime import datetime, timedelta

import pytest
from kombu import Connection, Exchange
from pydantic import BaseModel

from shared import event_signing
from shared.bus import topology
from shared.bus.dlq import DeadLetterQueues
from shared.contracts.common import SERVICES
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.erasure import ERASED
from shared.timeutil import iso, utcnow
from tests.e2e.test_hiring_loop import app_status, make_key
from tests.support.event_keys import platform_keys
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "signed-events"
NAME = "Sigrid Signature"
EMAIL = "sigrid.signature@example.com"
SUBSCRIBED = sorted({pair for pairs in topology.SUBSCRIPTIONS.values() for pair in pairs})
CATALOGUE = sorted(EVENT_MODELS)
CASES = {  # case -> the reason its dead letter must give
    "unsigned": "unsigned_event",
    "other_service_key": "wrong_producer_key",
    "attacker_key": "unknown_key",
    "tampered_payload": "bad_signature",
    "stale": "stale_event",
    "replayed_new_id": "bad_signature",
}


def test_every_subscribed_event_of_the_catalogue_is_covered():
    assert set(SUBSCRIBED) <= set(EVENT_MODELS)
    assert ("interview_feedback", "decision_recorded") in SUBSCRIBED
    assert ("sourcing", "candidate_erasure_requested") in SUBSCRIBED


def subscribers(pair: tuple[str, str]) -> list[str]:
    return [service for service, pairs in topology.SUBSCRIPTIONS.items() if pair in pairs]


def routes(pair: tuple[str, str], payload: dict) -> dict[str, tuple[str, str]]:
    """service -> (exchange, routing key) by which the attacker's copies reach that service's inbox (a status
    change's key names its transition, and reaches the consumers that need that one)."""
    producer, event_type = pair
    key = topology.routing_key(event_type, payload)
    if subscribers(pair):
        reached = topology.consumers_of(producer, key)
        assert reached, f"{key} reaches no subscriber"
        return {service: (topology.events_exchange(producer), key) for service in reached}
    return {service: ("", topology.inbox_queue(service)) for service in SERVICES}


def _sample(annotation, name: str, values: dict[str, typing.Any]):
    """A value of `annotation` that the contract accepts (ids of the victim where the field names one)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)), name, values)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {n: _sample(f.annotation, n, values) for n, f in annotation.model_fields.items() if f.is_required()}
    if name in values:
        return values[name]
    if origin is list:
        return []
    if origin is dict:
        return {}
    if annotation is datetime:
        return iso(utcnow())
    return {bool: False, int: 1, float: 1.0, str: "forged"}.get(annotation)


def forged_payload(pair: tuple[str, str], victim: dict) -> dict:
    """A payload the contract accepts, aimed at the victim: had it been believed, it would have acted on them.
    `decision_recorded` rejects the application, `candidate_erasure_requested` erases the candidate (the two
    attacks of the finding), a status change rejects, a chain of approvals is rejected."""
    values = {"application_id": victim["application_id"], "candidate_id": victim["candidate_id"],
              "requisition_id": victim["requisition_id"], "division": DIVISION, "tier": "basic",
              "outcome": "fail", "next_status": "rejected", "status": "rejected", "chain_status": "rejected",
              "previous_status": "shortlisted", "application_ids": [victim["application_id"]],
              "reason": "request", "decided_by": "mallory", "result": "confirmed", "id": victim["requisition_id"]}
    payload = _sample(EVENT_MODELS[pair], "", values)
    EVENT_MODELS[pair].model_validate(payload)  # would pass the old inbox's checks
    return payload


@pytest.fixture(scope="module")
def victim(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "sig-hr", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "sig-rec", "recruiter", [DIVISION]))
    req = hr.post("/v1/requisitions", json={"title": "Signals engineer", "division": DIVISION, "department": "ops",
                                            "tier": "basic", "required_skills": ["radio"]})
    assert req.status_code == 201, req.text
    app = recruiter.post("/v1/applications", json={
        "requisition_id": req.json()["id"], "source": "referral", "talent_pool_consent": True,
        "candidate": {"name": NAME, "email": EMAIL, "skills": ["radio"], "years_experience": 3}})
    assert app.status_code == 202, app.text
    app_id = app.json()["id"]
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "shortlisted", what="shortlisted")
    return {"hr": hr, "admin": admin, "application_id": app_id, "candidate_id": app.json()["candidate_id"],
            "requisition_id": req.json()["id"]}


def state(platform, victim) -> dict:
    """What the forged events were aimed at, as the API shows it."""
    hr, cid = victim["hr"], victim["candidate_id"]
    application = app_status(hr, victim["application_id"])
    return {
        "status": application["status"],
        "decision": application.get("decision"),
        "candidate": hr.get(f"/v1/candidates/{cid}").json(),
        "notices": hr.get(f"/v1/candidates/{cid}/notifications").json(),
        "mail": [m for m in platform.mail() if EMAIL in [t.lower() for t in m["to"]]],
    }


def forge(case: str, pair: tuple[str, str], payload: dict, keys, message_id: str) -> dict:
    producer, event_type = pair
    body = EventEnvelope(event_id=message_id, type=event_type, producer=producer, payload=payload,
                         correlation_id=f"req_{message_id}").model_dump(mode="json")
    genuine = keys.signing[producer]
    if case == "unsigned":
        return body
    if case == "other_service_key":
        other = next(s for s in keys.signing if s != producer)
        return event_signing.sign_envelope(body, keys.signing[other])
    if case == "attacker_key":
        return event_signing.sign_envelope(body, event_signing.generate(f"{producer}-mallory"))
    if case == "tampered_payload":
        signed = event_signing.sign_envelope({**body, "payload": {**payload, "division": "elsewhere"}}, genuine)
        return {**signed, "payload": payload}
    if case == "stale":
        return event_signing.sign_envelope({**body, "occurred_at": iso(utcnow() - timedelta(days=15))}, genuine)
    if case == "replayed_new_id":
        signed = event_signing.sign_envelope({**body, "event_id": f"{message_id}-first"}, genuine)
        return {**signed, "event_id": message_id}
    raise AssertionError(case)


@pytest.mark.parametrize("pair", CATALOGUE, ids=[f"{p}.{t}" for p, t in CATALOGUE])
def test_forged_unsigned_or_replayed_event_is_dead_lettered_and_changes_nothing(platform, victim, pair):
    producer, event_type = pair
    keys = platform_keys(platform.var_dir)
    before = state(platform, victim)
    assert before["status"] == "shortlisted" and before["candidate"]["name"] == NAME
    payload = forged_payload(pair, victim)
    tag = uuid.uuid4().hex[:8]
    sent = {f"evt_forged_{tag}_{case}": reason for case, reason in CASES.items()}

    # The attacker: on the producer's exchange with the routing key of a genuine event (or straight
    # into the inboxes for a type nobody consumes).
    reached = routes(pair, payload)
    # Publisher confirms: the connection closes right after, and an unconfirmed message may be dropped then.
    with Connection(platform.env["RABBIT_URL"], transport_options={"confirm_publish": True}) as conn:
        publish = conn.Producer().publish
        for exchange_name, routing_key in set(reached.values()):
            exchange = Exchange(exchange_name, type="topic" if exchange_name else "direct", durable=True)
            for message_id, case in zip(sent, CASES, strict=True):
                publish(forge(case, pair, payload, keys, message_id), exchange=exchange, routing_key=routing_key,
                        serializer="json", message_id=message_id, retry=True)

    # Every copy, in the dead-letter queue of every service it reached (the queue is the sentinel: no waiting
    # to see).
    expected = {(service, message_id) for service in reached for message_id in sent}

    def landed():
        with DeadLetterQueues(platform.env["RABBIT_URL"]) as dlq:
            return {(s, d.id): d for s in reached for d in dlq.list(s, limit=5000) if d.id in sent}

    letters = wait_for(landed, lambda found: set(found) >= expected, timeout=60, interval=0.5,
                       what=f"{len(expected)} dead letters of forged {producer}.{event_type}")
    for (service, message_id), letter in letters.items():
        assert letter.reason == sent[message_id], (service, message_id, letter.reason, letter.error)
        assert (letter.original_exchange, letter.original_routing_key) == reached[service]

    # Nothing changed: the application, the candidate in every service, notices, mail.
    after = state(platform, victim)
    assert after == before
    export = victim["admin"].get(f"/v1/candidates/{victim['candidate_id']}/export")
    assert export.status_code == 200, export.text
    assert NAME in export.text and ERASED not in export.text

    with DeadLetterQueues(platform.env["RABBIT_URL"]) as dlq:  # leave the queues as they were
        for service in reached:
            dlq.drop(service, set(sent))
