"""3. Every event delivered twice: each state change happens once, each notice is sent once.

A duplicator consumes a copy of every event and publishes it again, same event id, to the same exchange
and routing key, so every subscriber receives every event twice (at-least-once delivery at its worst)."""

from __future__ import annotations

import secrets
import threading

import pytest
from kombu import Connection, Exchange, Queue

from shared.bus import topology
from shared.contracts.common import SERVICES
from tests.faults.harness import BURST, applications_of, count_screening_effects, open_requisition, send_applications

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DUPLICATE_HEADER = "x-test-duplicate"


class Duplicator:
    def __init__(self, amqp_url: str):
        self.url = amqp_url
        self.queue = Queue(f"test.duplicator.{secrets.token_hex(3)}", durable=False, auto_delete=True,
                           bindings=[])
        self.injected = 0
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with Connection(self.url) as conn:
            channel = conn.channel()
            queue = self.queue(channel)
            queue.declare()
            for service in SERVICES:
                queue.bind_to(exchange=topology.events_exchange(service), routing_key="#")
            producer = conn.Producer(channel=conn.channel())

            def duplicate(body, message):
                headers = dict(message.headers or {})
                if not headers.get(DUPLICATE_HEADER):
                    producer.publish(message.body, exchange=Exchange(message.delivery_info["exchange"],
                                                                     type="topic", durable=True),
                                     routing_key=message.delivery_info["routing_key"],
                                     headers={**headers, DUPLICATE_HEADER: 1},
                                     message_id=message.properties.get("message_id"),
                                     content_type=message.content_type, content_encoding=message.content_encoding)
                    self.injected += 1
                message.ack()

            with conn.Consumer(queue, callbacks=[duplicate], accept=None, no_ack=False):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(10)


def test_every_event_delivered_twice_changes_state_once_and_sends_one_notice_each(fault_platform):
    fp = fault_platform
    client = fp.client()
    req = open_requisition(client, "Support engineer (duplicates)")
    count = BURST
    with Duplicator(fp.env["RABBIT_URL"]) as duplicator:
        run, burst = send_applications(fp.base_url, fp.admin_key, req["id"], count)
        counts, details = count_screening_effects(fp, client, req["id"], run, count, timeout=120)
    counts.show("every event twice")
    print(f"  duplicates injected={duplicator.injected}; {details}")
    # application_received (x1), application_screened, application_status_changed: at least 3 per application.
    assert duplicator.injected >= 3 * count
    assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (count, 0, 0, 0)
    for app in applications_of(client, req["id"]):
        statuses = [step["status"] for step in app["timeline"]]
        assert statuses == ["received", app["status"]], f"{app['id']}: {statuses}"
