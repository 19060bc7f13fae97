"""The definitions file production imports (infra/k8s, docker-compose.production.yml) is the topology the code
declares: importing it into an empty vhost makes every service queue a quorum queue under its policy, and the
services' own declarations afterwards agree with it (a queue re-declared with other arguments would fail)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.bus import topology
from shared.config import Settings
from shared.ids import new_id
from tests.support.infra import VhostAdmin, _with_vhost

pytestmark = pytest.mark.integration
DEFINITIONS = Path(__file__).resolve().parents[2] / "infra" / "k8s" / "base" / "rabbitmq-definitions.json"


def test_the_committed_definitions_file_is_the_topology():
    """Regenerate with `python -m shared.bus.topology --definitions > infra/k8s/base/rabbitmq-definitions.json`."""
    assert json.loads(DEFINITIONS.read_text()) == topology.definitions()


@pytest.mark.skipif(not shutil.which("rabbitmqctl"), reason="lists queue policies with rabbitmqctl")
def test_imported_definitions_give_quorum_queues_with_policies_and_agree_with_the_code():
    admin = VhostAdmin(Settings.from_env().rabbit_url)
    vhost = f"hireloop-defs-{new_id('t')}"
    admin.create(vhost)
    try:
        admin.import_definitions(topology.definitions(vhost))
        listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers",
                                 "name", "type", "policy"], check=True, capture_output=True, text=True).stdout
        # No strip(): a queue without a policy ends its row in a tab, and the last row must keep it.
        found = {row.split("\t")[0]: row.split("\t")[1:] for row in listed.splitlines() if row}
        expected = {}
        for service in topology.SERVICES:
            expected[topology.rpc_queue(service)] = ["quorum", f"hireloop-{service}"]
            expected[topology.inbox_queue(service)] = ["quorum", f"hireloop-{service}"]
            expected[topology.wait_queue(service)] = ["quorum", f"hireloop-{service}-wait"]
            expected[topology.dead_letter_queue(service)] = ["quorum", ""]
        assert found == expected
        # What every service does at start: must not clash with what the import declared.
        topology.declare(_with_vhost(Settings.from_env().rabbit_url, vhost))
    finally:
        admin.delete(vhost)


def _publish_and_collect(url: str, keys: list[str], inboxes: list[str]) -> dict[str, list[str]]:
    """Publish one message per key on sourcing's exchange (the body is the key), confirmed; then take what each
    inbox got."""
    from urllib.parse import unquote, urlsplit

    import amqp

    parts = urlsplit(url)
    conn = amqp.Connection(f"{parts.hostname}:{parts.port or 5672}", userid=unquote(parts.username or "guest"),
                           password=unquote(parts.password or "guest"), virtual_host=unquote(parts.path[1:]),
                           confirm_publish=True)
    conn.connect()
    try:
        channel = conn.channel()
        for key in keys:
            channel.basic_publish(amqp.Message(key.encode()), exchange="sourcing.events", routing_key=key)
        got: dict[str, list[str]] = {}
        for inbox in inboxes:
            got[inbox] = []
            while (message := channel.basic_get(inbox, no_ack=True)) is not None:
                got[inbox].append(message.body.decode())
        return got
    finally:
        conn.close()


def test_on_a_real_broker_each_inbox_gets_exactly_the_status_changes_its_rule_needs():
    """Every (previous, status) pair published as sourcing does: each inbox holds exactly its rule's pairs, once."""
    admin = VhostAdmin(Settings.from_env().rabbit_url)
    vhost = f"hireloop-routing-{new_id('t')}"
    admin.create(vhost)
    url = _with_vhost(Settings.from_env().rabbit_url, vhost)
    try:
        topology.declare(url)
        pairs = sorted(topology.ALL_PAIRS)
        keys = [topology.routing_key(topology.STATUS_CHANGED, {"previous_status": None if p == "none" else p,
                                                               "status": s}) for p, s in pairs]
        inboxes = [topology.inbox_queue(s) for s in topology.SERVICES]
        got = _publish_and_collect(url, keys, inboxes)
        for service in topology.SERVICES:
            row = next((r for r in topology.SUBSCRIPTIONS[service] if r == ("sourcing", topology.STATUS_CHANGED)),
                       None)
            expected = [] if row is None else sorted(
                key for key, pair in zip(keys, pairs, strict=True) if pair in row.transitions.pairs())
            assert sorted(got[topology.inbox_queue(service)]) == expected, service
        assert len(got["interview_feedback.inbox"]) == len(pairs)
        assert "application_status_changed.none.received" not in got["notification.inbox"]
    finally:
        admin.delete(vhost)


def test_a_deployment_bound_to_the_bare_type_keeps_that_binding_and_it_does_no_harm():
    """An existing deployment has its inboxes bound to `application_status_changed` itself. Declaring the new
    topology adds the transition bindings and leaves that one (declarations only add): no message from the new
    sourcing carries the bare key, so nothing arrives twice; one from a sourcing not yet upgraded still arrives
    (once), so a rolling upgrade loses nothing."""
    admin = VhostAdmin(Settings.from_env().rabbit_url)
    vhost = f"hireloop-legacy-{new_id('t')}"
    admin.create(vhost)
    url = _with_vhost(Settings.from_env().rabbit_url, vhost)
    legacy = ("screening", "interview_feedback", "notification", "talent_pool")
    try:
        definitions = topology.definitions(vhost)
        definitions["bindings"] = [b for b in definitions["bindings"] if b["source"] != "sourcing.events"] + [
            {"source": "sourcing.events", "vhost": vhost, "destination": topology.inbox_queue(s),
             "destination_type": "queue", "routing_key": topology.STATUS_CHANGED, "arguments": {}} for s in legacy]
        admin.import_definitions(definitions)
        topology.declare(url)  # what each service does at start
        keys = ["application_status_changed.none.received", "application_status_changed.received.shortlisted",
                "application_status_changed.shortlisted.interviewing", topology.STATUS_CHANGED]
        got = _publish_and_collect(url, keys, [topology.inbox_queue(s) for s in legacy])
        assert {s: sorted(got[topology.inbox_queue(s)]) for s in legacy} == {
            "screening": ["application_status_changed", "application_status_changed.shortlisted.interviewing"],
            "interview_feedback": sorted(keys),
            "notification": ["application_status_changed", "application_status_changed.received.shortlisted",
                             "application_status_changed.shortlisted.interviewing"],
            "talent_pool": ["application_status_changed", "application_status_changed.shortlisted.interviewing"],
        }
    finally:
        admin.delete(vhost)
