"""Processes die; nothing is lost and nothing is done twice.

1. `kill -9` the screening service with a burst of 100 applications in flight (once a quarter is screened),
   restart it (once ten applications wait for it): every application is screened exactly once, one
   `application_screened` event each (redeliveries keep the event id), one rejection notice and one email
   per screened-out candidate.
6. An event published while its consumer is stopped waits in its queue and is handled once it starts.
7. A request to a stopped service answers 503 with Retry-After within the RPC bound; once the service is
   back, the same request succeeds, without restarting the gateway.
"""

from __future__ import annotations

import threading
import time

import pytest

from shared.bus import topology
from tests.faults.harness import (
    BURST,
    EventTap,
    applications_of,
    count_screening_effects,
    open_requisition,
    queue_depth,
    send_applications,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.timeout(300)
def test_kill_9_screening_with_100_applications_in_flight(fault_platform):
    fp = fault_platform
    tap = EventTap(fp.env["RABBIT_URL"])
    client = fp.client()
    req = open_requisition(client, "Data engineer (kill -9)")
    results = fp.db("screening").results
    outcome = {}

    def burst():
        # This suite checks what is lost, not how fast (bench/): the bound is generous.
        outcome["run"], outcome["burst"] = send_applications(fp.base_url, fp.admin_key, req["id"], BURST,
                                                             timeout=240)

    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    # Kill once screening is well into the burst: messages are prefetched, some mid-transaction.
    wait_until(lambda: results.count_documents({"requisition_id": req["id"]}) >= BURST // 4, 120,
               f"{BURST // 4} screened")
    fp.kill("screening-1")
    killed = time.monotonic()
    killed_at = results.count_documents({"requisition_id": req["id"]})
    assert killed_at < BURST, "the kill came too late to test anything"
    # Start it again once applications have piled up behind the dead consumer (received, not screened).
    piled_up = min(10, BURST - killed_at)
    waiting = wait_until(lambda: (n := sum(a["status"] == "received" for a in applications_of(client, req["id"])))
                         >= piled_up and n, 120, f"{piled_up} applications waiting for screening")
    restarted = time.monotonic()
    fp.start_process("screening-1")
    sender.join()

    counts, details = count_screening_effects(fp, client, req["id"], outcome["run"], BURST, tap=tap)
    counts.show("kill -9 screening")
    print(f"  killed after {killed_at} screened, started again {restarted - killed:.1f}s later with {waiting} "
          f"waiting, all counted {time.monotonic() - restarted:.1f}s after that; burst retries="
          f"{outcome['burst'].retries} {dict(outcome['burst'].errors)}; {details}")
    tap.delete()
    assert outcome["burst"].accepted == BURST
    assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (BURST, 0, 0, 0)
    assert details["screened_events_distinct"] == BURST


def test_an_event_published_while_its_consumer_is_down_is_handled_when_it_starts(fault_platform):
    fp = fault_platform
    client = fp.client()
    req = open_requisition(client, "Analyst (consumer down)")
    inbox = topology.inbox_queue("screening")
    fp.stop_process("screening-1")
    try:
        before = queue_depth(fp.env["RABBIT_URL"], inbox)
        run, burst = send_applications(fp.base_url, fp.admin_key, req["id"], 5)
        # Not a sleep: the five events are seen waiting in the stopped consumer's queue, relayed and unhandled.
        wait_until(lambda: queue_depth(fp.env["RABBIT_URL"], inbox) >= before + 5, 30, "5 events in screening.inbox")
        apps = client.get(f"/v1/requisitions/{req['id']}/applications").json()["items"]
        assert len(apps) == 5 and {a["status"] for a in apps} == {"received"}
        queued = fp.db("screening").results.count_documents({"requisition_id": req["id"]})
        assert queued == 0
    finally:
        fp.start_process("screening-1")
    counts, details = count_screening_effects(fp, client, req["id"], run, 5, timeout=60)
    counts.show("event while consumer down")
    print(f"  {details}")
    assert (counts.completed, counts.lost, counts.duplicated) == (5, 0, 0)


def test_a_stopped_service_answers_503_within_the_bound_and_recovers_without_a_gateway_restart(fault_platform):
    fp = fault_platform
    client = fp.client()
    bound = float(fp.env["RPC_TIMEOUT"])
    fp.stop_process("sourcing-1")
    try:
        started = time.monotonic()
        r = client.get("/v1/requisitions", params={"division": "faults"})
        elapsed = time.monotonic() - started
        print(f"[stopped service] status={r.status_code} after {elapsed:.2f}s (bound {bound:g}s), "
              f"Retry-After={r.headers.get('retry-after')}")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "service_unavailable"
        assert int(r.headers["retry-after"]) >= 1
        assert elapsed < bound + 1.5
    finally:
        fp.start_process("sourcing-1")
    r = wait_until(lambda: (x := client.get("/v1/requisitions", params={"division": "faults"})).status_code == 200
                   and x, 30, "sourcing answering again")
    assert r.json()["items"], "the requisitions made before the stop are all still there"
