"""2. RabbitMQ crashes and restarts in the middle of a 100-application burst.

The test runs its own RabbitMQ node (own name, ports and data directory), so the machine's broker is
never disturbed. The node is killed with SIGKILL mid-burst (once 40 applications were accepted) and started
again on the same data once clients have had 10 attempts refused: quorum queues keep every confirmed message;
services and gateway reconnect by themselves; clients retry what got a 503 with the same Idempotency-Key.
Afterwards every application is screened, once."""

from __future__ import annotations

import threading

import pytest

from tests.faults.conftest import isolated_env
from tests.faults.harness import (
    BURST,
    Burst,
    EventTap,
    FaultPlatform,
    PrivateBroker,
    count_screening_effects,
    open_requisition,
    send_applications,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.timeout(600)
def test_rabbitmq_restart_in_the_middle_of_a_100_application_burst(test_infra, tmp_path):
    broker = PrivateBroker(tmp_path / "rabbitmq")
    broker.start()
    env, cleanup = isolated_env(test_infra, "b", rabbit_url=broker.url)
    fp = FaultPlatform(env, tmp_path / "var")
    try:
        fp.start()
        tap = EventTap(broker.url)
        client = fp.client()
        req = open_requisition(client, "Site reliability engineer (broker restart)")
        results = fp.db("screening").results
        outcome = {}
        live = Burst()  # its counts are watched below while the burst runs

        def burst():
            outcome["run"], outcome["burst"] = send_applications(fp.base_url, fp.admin_key, req["id"], BURST,
                                                                 timeout=300, burst=live)

        sender = threading.Thread(target=burst, daemon=True)
        sender.start()
        crash_after = BURST * 2 // 5
        wait_until(lambda: live.accepted >= crash_after, 180, f"{crash_after} accepted")
        broker.stop(crash=True)
        accepted_at, down_at = live.accepted, results.count_documents({"requisition_id": req["id"]})
        # Up again once the clients have felt it: 10 attempts refused (503) or cut off since the crash.
        refused_before = sum(live.errors.values())
        wait_until(lambda: sum(live.errors.values()) - refused_before >= 10, 120, "10 attempts refused")
        broker.start()
        sender.join(320)
        assert not sender.is_alive(), "the burst did not finish"

        counts, details = count_screening_effects(fp, client, req["id"], outcome["run"], BURST, tap=tap,
                                                  timeout=240)
        counts.show("RabbitMQ restart")
        print(f"  broker crashed after {accepted_at} accepted and {down_at} screened; burst retries="
              f"{outcome['burst'].retries} {dict(outcome['burst'].errors)}; {details}")
        assert outcome["burst"].accepted == BURST
        assert accepted_at < BURST and down_at < BURST, "the crash came too late to test anything"
        assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (BURST, 0, 0, 0)
        assert details["screened_events_distinct"] == BURST
        # Every process is still the one started before the crash: they reconnected, nobody restarted them.
        assert all(proc.poll() is None for _, proc in fp.platform.procs)
    finally:
        fp.stop()
        broker.close()
        cleanup()
