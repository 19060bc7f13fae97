"""Processes die; nothing is lost and nothing is done twice.

1. `kill -9` the screening service with 500 applications in flight, restart it: every application is
   screened exactly once, one `application_screened` event each (redeliveries keep the event id), one
   rejection notice and one email per screened-out candidate.
6. An event published while its consumer is stopped waits in its queue and is handled once it starts.
7. A request to a stopped service answers 503 with Retry-After within the RPC bound; once the service is
   back, the same request succeeds, without restarting the gateway.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.harness import EventTap, count_screening_effects, open_requisition, send_applications, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.timeout(600)
def test_kill_9_screening_with_500_applications_in_flight(fault_platform):
    fp = fault_platform
    tap = EventTap(fp.env["RABBIT_URL"])
    client = fp.client()
    req = open_requisition(client, "Data engineer (kill -9)")
    results = fp.db("screening").results
    outcome = {}

    def burst():
        # The same bound as the broker-restart burst: this suite checks what is lost, not how fast (bench/).
        outcome["run"], outcome["burst"] = send_applications(fp.base_url, fp.admin_key, req["id"], 500,
                                                             timeout=420)

    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    # Kill once screening is well into the burst: messages are prefetched, some mid-transaction.
    wait_until(lambda: results.count_documents({"requisition_id": req["id"]}) >= 120, 120, "120 screened")
    fp.kill("screening-1")
    killed_at = results.count_documents({"requisition_id": req["id"]})
    time.sleep(1)
    fp.start_process("screening-1")
    sender.join()

    counts, details = count_screening_effects(fp, client, req["id"], outcome["run"], 500, tap=tap)
    counts.show("kill -9 screening")
    print(f"  killed after {killed_at} screened; burst retries={outcome['burst'].retries} "
          f"{dict(outcome['burst'].errors)}; {details}")
    tap.delete()
    assert outcome["burst"].accepted == 500
    assert killed_at < 500, "the kill came too late to test anything"
    assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (500, 0, 0, 0)
    assert details["screened_events_distinct"] == 500


def test_an_event_published_while_its_consumer_is_down_is_handled_when_it_starts(fault_platform):
    fp = fault_platform
    client = fp.client()
    req = open_requisition(client, "Analyst (consumer down)")
    fp.stop_process("screening-1")
    try:
        run, burst = send_applications(fp.base_url, fp.admin_key, req["id"], 5)
        time.sleep(2)  # time in which a consumer, had it been running, would have screened them all
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
