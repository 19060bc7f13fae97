"""What the application projections cost in MongoDB commands (issue 17: the whole path of an application
should stay within about 20 commands across services). Counted with a pymongo CommandListener on the
store's own client, so a query added to these handlers makes this fail."""

from datetime import timedelta

import pytest
from pymongo import monitoring

from services.talent_pool.store import TalentPoolStore
from services.talent_pool.tests.test_service import make_service, received, requisition, status
from shared.ids import new_id
from shared.storage import mongo_client
from shared.timeutil import utcnow


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def started(self, event):
        cmd = event.command
        self.seen.append((event.command_name, str(cmd.get(event.command_name, ""))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def during(self, fn) -> list[tuple[str, str]]:
        start = len(self.seen)
        fn()
        return self.seen[start:]


@pytest.fixture
def counted(test_infra):
    """(service shell, listener) on a fresh database, through a client that reports every command."""
    listener = Commands()
    client = mongo_client(test_infra.mongo_url, event_listeners=[listener])
    name = f"{test_infra.namespace}_talent_pool_{new_id('t')}"
    store = TalentPoolStore(client, name)
    store.ensure_indexes()
    try:
        yield make_service(store), listener
    finally:
        client.drop_database(name)
        client.close()


def test_application_received_costs_at_most_four_commands(counted):
    svc, listener = counted
    t0 = utcnow() - timedelta(hours=1)
    received(svc, "app_0", "c0", at=t0)  # the requisition is learned with the first of its applications
    cost = listener.during(lambda: received(svc, "app_1", "c1", at=t0))
    assert len(cost) <= 4, cost
    # an application of an unknown requisition also stores the requisition: one more command
    other = requisition("req_other")
    assert len(listener.during(lambda: received(svc, "app_2", "c2", req=other, at=t0))) <= 5


@pytest.mark.parametrize("new", ["shortlisted", "screened_out", "interviewing", "interviewed"])
def test_a_status_change_that_pools_nobody_costs_at_most_two_commands(counted, new):
    svc, listener = counted
    t0 = utcnow() - timedelta(hours=1)
    received(svc, "app_1", "c1", at=t0)
    cost = listener.during(lambda: status(svc, "app_1", "c1", new, "received", t0 + timedelta(minutes=1),
                                          sequence=2))
    assert len(cost) <= 2, cost


def test_a_status_change_before_its_application_costs_at_most_three_commands(counted):
    """The first event of an application creates its projection: a read, the tombstone check, an insert."""
    svc, listener = counted
    cost = listener.during(lambda: status(svc, "app_1", "c1", "shortlisted", "received", utcnow(), sequence=2))
    assert len(cost) <= 3, cost
