"""A malformed message on a service queue is dead-lettered with the reason, never lost, and the service
keeps serving."""

import json

import pytest
from kombu import Connection, Exchange

from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def raw(message) -> bytes:
    body = message.body
    return body.encode() if isinstance(body, str) else bytes(body)


def drain(channel, queue):
    messages = []
    while (m := channel.basic_get(queue, no_ack=True)) is not None:
        messages.append(m)
    return messages


def test_garbage_is_dead_lettered_and_services_keep_serving(platform):
    events = Exchange("sourcing.events", type="topic", durable=True)
    rpc = Exchange("nameko-rpc", type="topic", durable=True)
    with Connection(platform.env["RABBIT_URL"]) as conn:
        producer = conn.Producer()
        producer.publish(b"\xff\xfe\x00 not utf-8", exchange=events, routing_key="application_received",
                         content_type="application/json", content_encoding="binary")
        producer.publish(b"{not json", exchange=events, routing_key="application_received",
                         content_type="application/json", content_encoding="utf-8")
        producer.publish({"event_id": "evt_x", "type": "application_received", "producer": "sourcing",
                          "payload": {"application_id": 42}}, exchange=events, routing_key="application_received",
                         serializer="json")
        producer.publish(b"[1, 2, 3]", exchange=rpc, routing_key="sourcing.get_application",
                         content_type="application/json", content_encoding="utf-8")

        channel = conn.channel()
        seen = {"screening.dlq": [], "talent_pool.dlq": [], "notification.dlq": [], "sourcing.dlq": []}

        def collect():
            for queue in seen:
                seen[queue].extend(drain(channel, queue))
            return seen

        # application_received goes to screening, notification and talent_pool: each dead-letters its copy.
        wait_for(collect, lambda s: len(s["screening.dlq"]) >= 3 and len(s["sourcing.dlq"]) >= 1,
                 timeout=20, what="dead letters")
        reasons = sorted(m.headers["x-hireloop-reason"] for m in seen["screening.dlq"])
        assert reasons == ["invalid_event", "undecodable", "undecodable"]
        raw_bodies = {raw(m) for m in seen["screening.dlq"]}
        assert b"\xff\xfe\x00 not utf-8" in raw_bodies  # byte for byte, nothing lost
        schema_error = next(m for m in seen["screening.dlq"] if m.headers["x-hireloop-reason"] == "invalid_event")
        assert "application_id" in schema_error.headers["x-hireloop-error"]
        assert json.loads(raw(schema_error))["payload"] == {"application_id": 42}
        assert seen["sourcing.dlq"][0].headers["x-hireloop-reason"] == "malformed_rpc"
        assert len(seen["talent_pool.dlq"]) >= 3 and len(seen["notification.dlq"]) >= 3

    ready = platform.client().get("/readyz")
    assert ready.status_code == 200, ready.text
