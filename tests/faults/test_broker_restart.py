"""2. RabbitMQ crashes and restarts in the middle of a 500-application burst.

The test runs its own RabbitMQ node (own name, ports and data directory), so the machine's broker is
never disturbed. The node is killed with SIGKILL mid-burst and started again on the same data: quorum
queues keep every confirmed message; services and gateway reconnect by themselves; clients retry what
got a 503 with the same Idempotency-Key. Afterwards every application is screened, once."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import isolated_env
from tests.faults.harness import (
    EventTap,
    FaultPlatform,
    PrivateBroker,
    count_screening_effects,
    open_requisition,
    send_applications,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.timeout(900)
def test_rabbitmq_restart_in_the_middle_of_a_500_application_burst(test_infra, tmp_path):
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

        def burst():
            outcome["run"], outcome["burst"] = send_applications(fp.base_url, fp.admin_key, req["id"], 500,
                                                                 timeout=400)

        sender = threading.Thread(target=burst, daemon=True)
        sender.start()
        wait_until(lambda: results.count_documents({"requisition_id": req["id"]}) >= 100, 180, "100 screened")
        broker.stop(crash=True)
        down_at = results.count_documents({"requisition_id": req["id"]})
        time.sleep(3)
        broker.start()
        sender.join(420)
        assert not sender.is_alive(), "the burst did not finish"

        counts, details = count_screening_effects(fp, client, req["id"], outcome["run"], 500, tap=tap,
                                                  timeout=240)
        counts.show("RabbitMQ restart")
        print(f"  broker crashed after {down_at} screened; burst retries={outcome['burst'].retries} "
              f"{dict(outcome['burst'].errors)}; {details}")
        assert outcome["burst"].accepted == 500
        assert down_at < 500
        assert (counts.completed, counts.lost, counts.duplicated, counts.dead_lettered) == (500, 0, 0, 0)
        assert details["screened_events_distinct"] == 500
        # Every process is still the one started before the crash: they reconnected, nobody restarted them.
        assert all(proc.poll() is None for _, proc in fp.platform.procs)
    finally:
        fp.stop()
        broker.close()
        cleanup()
