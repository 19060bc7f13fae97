"""Messages that cannot be handled are dead-lettered with the reason, never lost; everything else flows.

4. A screening bug that raises for 3% of a 100-application burst: those land in `screening.dlq` with the
   error once the delivery limit is spent, the other 97% are screened; after the fix, `python -m
   shared.bus.dlq replay` completes them.
5. Garbage on service queues (not JSON, wrong schema, a 20 MB body, invalid UTF-8, an RPC with no reply
   address): dead-lettered byte for byte, and the service keeps serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kombu import Connection, Exchange

from shared.bus.dlq import DeadLetterQueues
from shared.crypto import open_sealed
from shared.timeutil import utcnow
from tests.faults.faulty_screening import is_unlucky
from tests.faults.harness import (
    BURST,
    SCREENED,
    applications_of,
    candidate,
    count_screening_effects,
    open_requisition,
    send_applications,
    wait_until,
)
from tests.support.event_keys import platform_keys

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def dlq_cli(fp, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **fp.env}
    return subprocess.run([sys.executable, "-m", "shared.bus.dlq", *args], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.timeout(300)
def test_a_handler_failing_for_3_percent_dead_letters_them_and_replay_completes_them(fault_platform):
    fp = fault_platform
    client = fp.client()
    req = open_requisition(client, "Backend developer (3% bug)")
    fp.stop_process("screening-1")
    fp.replace_process("screening-1", ["-m", "tests.faults.faulty_screening"])
    try:
        count = BURST
        run, burst = send_applications(fp.base_url, fp.admin_key, req["id"], count)
        unlucky = {candidate(run, i)["email"] for i in range(count) if is_unlucky(candidate(run, i)["email"])}
        assert len(unlucky) == 3

        def dead_lettered():
            with DeadLetterQueues(fp.env["RABBIT_URL"]) as dlq:
                letters = dlq.list("screening")
            return letters if len(letters) >= len(unlucky) else None

        letters = wait_until(dead_lettered, 120, "3 dead letters in screening.dlq", interval=1)
        # Every healthy application is screened while the poison ones are still dead letters.
        def screened():
            done = sum(a["status"] in SCREENED for a in applications_of(client, req["id"]))
            return done if done == count - len(unlucky) else None

        # Generous: on a loaded 2-core machine the last screenings of a burst can take a minute or more.
        wait_until(screened, 180, "the 97% healthy applications screened before the fix", interval=1)
        # the address travels sealed
        emails = {open_sealed(json.loads(d.body)["payload"]["candidate"]["email"]) for d in letters}
        assert emails == unlucky
        assert all(d.reason == "handler_failed" and "injected bug" in d.error for d in letters)
    finally:
        fp.stop_process("screening-1")
        fp.replace_process("screening-1", ["-m", "services.screening"])  # the fix is deployed

    listing = dlq_cli(fp, "list", "--service", "screening")
    assert listing.returncode == 0 and "3 dead letter(s)" in listing.stdout, listing.stdout + listing.stderr
    one = letters[0].id
    shown = dlq_cli(fp, "inspect", "screening", one)
    assert shown.returncode == 0 and "injected bug" in shown.stdout and one in shown.stdout
    replay = dlq_cli(fp, "replay", "screening", "--all")
    assert replay.returncode == 0 and "3 dead letter(s) replayed" in replay.stdout, replay.stdout + replay.stderr

    counts, details = count_screening_effects(fp, client, req["id"], run, count, timeout=60)
    counts.show("3% handler failure, then replay")
    print(f"  dead-lettered before the fix: {len(letters)}; {details}")
    assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (count, 0, 0, 0)


GARBAGE = {
    "invalid_utf8": (b"\xff\xfe\x00 not utf-8", "binary"),
    "not_json": (b"{not json", "utf-8"),
    "wrong_schema": None,  # signed by sourcing's key, so it gets past the signature check to the schema's
    "twenty_mb": (b'{"padding": "' + b"x" * (20 * 1024 * 1024) + b'"}', "utf-8"),
}


def test_garbage_on_service_queues_is_dead_lettered_byte_for_byte_and_services_keep_serving(fault_platform):
    fp = fault_platform
    client = fp.client()
    wrong_schema = platform_keys(fp.var).sign({"event_id": "evt_bad", "type": "application_received",
                                               "producer": "sourcing", "occurred_at": utcnow().isoformat(),
                                               "payload": {"application_id": 42}})
    garbage = {**GARBAGE, "wrong_schema": (json.dumps(wrong_schema).encode(), "utf-8")}
    with DeadLetterQueues(fp.env["RABBIT_URL"]) as dlq:
        before = {s: dlq.count(s) for s in ("screening", "sourcing")}
    with Connection(fp.env["RABBIT_URL"]) as conn:
        producer = conn.Producer()
        for name, (body, encoding) in garbage.items():
            # Straight onto screening's inbox queue, as a broken producer would.
            producer.publish(body, exchange=Exchange(""), routing_key="screening.inbox", message_id=f"garbage-{name}",
                             content_type="application/json", content_encoding=encoding)
        producer.publish(b"[1, 2, 3]", exchange=Exchange("nameko-rpc", type="topic", durable=True),
                         routing_key="sourcing.get_application", message_id="garbage-rpc",
                         content_type="application/json", content_encoding="utf-8")

    def landed():
        with DeadLetterQueues(fp.env["RABBIT_URL"]) as dlq:
            letters = {d.id: d for s in ("screening", "sourcing") for d in dlq.list(s) if d.id.startswith("garbage-")}
        return letters if len(letters) == len(GARBAGE) + 1 else None

    letters = wait_until(landed, 60, "every garbage message dead-lettered", interval=1)
    for name, (body, _) in garbage.items():
        letter = letters[f"garbage-{name}"]
        assert letter.body == body, f"{name}: not kept byte for byte"
        assert letter.reason in ("undecodable", "invalid_event", "unsigned_event"), (name, letter.reason)
    assert letters["garbage-wrong_schema"].reason == "invalid_event"
    assert "application_id" in letters["garbage-wrong_schema"].error
    assert letters["garbage-rpc"].reason == "malformed_rpc" and letters["garbage-rpc"].service == "sourcing"
    print(f"[garbage] sent={len(GARBAGE) + 1} completed=0 lost=0 duplicated=0 dead-lettered={len(letters)}")

    # The services keep serving: health answers, and a real application is still screened.
    health = client.get("/v1/admin/services").json()
    assert {s["service"]: s["status"] for s in health["items"]}["screening"] == "up", health
    req = open_requisition(client, "Garbage survivor")
    run, _ = send_applications(fp.base_url, fp.admin_key, req["id"], 3)
    counts, _ = count_screening_effects(fp, client, req["id"], run, 3, timeout=60)
    assert (counts.completed, counts.lost, counts.duplicated) == (3, 0, 0)

    # Operators drop what can never succeed; nothing else is touched.
    for service in ("screening", "sourcing"):
        ids = [i for i, d in letters.items() if d.service == service]
        dropped = dlq_cli(fp, "drop", service, *ids)
        assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    with DeadLetterQueues(fp.env["RABBIT_URL"]) as dlq:
        assert {s: dlq.count(s) for s in ("screening", "sourcing")} == before
