"""The MongoDB commands screening's hot-path handlers send, counted by a pymongo CommandListener on the store's
client: a query added to these paths fails here (issue 17's budget: <= 20 commands per application across
every service). Through the shell (worker_factory, the in-process bus with the real document write)."""

import pytest
from nameko.testing.services import worker_factory

from services.screening.service import ScreeningService
from services.screening.store import ScreeningStore
from shared.contracts.caller import Caller
from shared.ids import new_id
from shared.storage import mongo_client
from tests.support.hot_path import CommandLog
from tests.support.shell import InProcessBus, status_changed
from tests.support.shell import deliver as shell_deliver

REC = Caller(key_id="k1", name="rita", role="recruiter", divisions=("retail",))


@pytest.fixture
def counted(data_infra):
    commands = CommandLog()
    client = mongo_client(data_infra.mongo_url, event_listeners=[commands])
    name = f"{data_infra.namespace}_screening_{new_id('t')}"
    store = ScreeningStore(client, name)
    store.ensure_indexes()
    svc = worker_factory(ScreeningService, store=store, bus=InProcessBus(store, REC))
    commands.sent.clear()
    try:
        yield svc, commands.sent
    finally:
        client.drop_database(name)
        client.close()


def received(svc, app_id):
    return shell_deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "referral", "received_at": "2026-12-01T10:00:00Z",
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "required_skills": ["Coffee"]},
        "candidate": {"name": "Ann", "email": "sealed", "skills": ["coffee"]}})


# The in-process bus pulls relayed events off at once; the real one batches that (one update_many per
# collection every second, shared/bus/nameko_ext.py), so it is not the handler's own.
RELAY_CLEAR = ("update", "results")


def test_screening_an_application_costs_three_commands(counted):
    svc, sent = counted
    received(svc, new_id("app"))
    assert sent.count(RELAY_CLEAR) == 1
    sent.remove(RELAY_CLEAR)
    assert sent == [
        ("find", "erased"),  # a new document: is its candidate erased here? (the result itself is not read:
        # the application's first event, inserted at once; a clash would read it)
        ("insert", "results"),  # the result, the event's id and application_screened, in one write
        ("update", "application_status"),  # the status copy starts at received (one conditional upsert)
    ]


def test_a_status_change_costs_one_command(counted):
    svc, sent = counted
    app_id = new_id("app")
    received(svc, app_id)
    sent.clear()
    status_changed(svc, app_id, "shortlisted", 2)
    assert sent == [("update", "application_status")]
    sent.clear()
    status_changed(svc, app_id, "received", 1)  # sourcing's first change, after the copy began with it
    assert sent == [("update", "application_status"), ("update", "application_status")]  # refused, re-checked
