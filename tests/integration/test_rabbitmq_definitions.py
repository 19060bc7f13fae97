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
