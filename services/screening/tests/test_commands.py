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


def with_cv(svc, app_id):
    return shell_deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "careers", "received_at": "2026-12-01T10:00:00Z",
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "required_skills": ["Coffee"]},
        "candidate": {"name": "Ann", "email": "sealed", "skills": ["coffee"]}, "cv_document_id": "doc_1"})


def cv_read(svc, app_id):
    return shell_deliver(svc.on_document_read, "sourcing", "document_read", {
        "document_id": "doc_1", "application_id": app_id, "candidate_id": "cand_1", "requisition_id": "req_1",
        "division": "retail", "kind": "cv", "text_status": "extracted", "skills_found": ["Latte Art"],
        "read_at": "2026-12-01T10:00:02Z"})


def test_what_an_application_with_a_cv_costs_in_either_order(counted):
    """Application then reading (the usual order: the reading is off the request path): the application's
    document is inserted waiting, then the reading reads it and writes the result: two commands more than an
    application without a CV. The reading first: three for it, and the application's insert clashes and reads."""
    svc, sent = counted
    app_id = new_id("app")
    with_cv(svc, app_id)
    assert sent == [("find", "erased"), ("insert", "results"), ("update", "application_status")]
    sent.clear()
    cv_read(svc, app_id)
    # read, then the result and its event in one write (then the in-process relay's clear)
    assert sent == [("find", "results"), ("update", "results"), RELAY_CLEAR]
    sent.clear()
    # the reading first: inserted after the tombstone check; the application's insert then clashes and reads
    other = new_id("app")
    cv_read(svc, other)
    assert sent == [("find", "results"), ("find", "erased"), ("insert", "results")]
    sent.clear()
    with_cv(svc, other)
    assert sent == [("find", "erased"), ("insert", "results"), ("find", "results"), ("update", "results"),
                    RELAY_CLEAR, ("update", "application_status")]
