"""How many MongoDB commands sourcing's hot path issues (issue 17: the whole path per application <= 20 across
services). A counting listener on the store's own client; a query added to the hot path fails these."""

from __future__ import annotations

from collections import Counter

import pytest
from nameko.testing.services import worker_factory
from pymongo import monitoring

from services.sourcing.service import SourcingService
from services.sourcing.store import SourcingStore
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.ids import new_id
from shared.storage import mongo_client
from tests.support.shell import InProcessBus, deliver

HR = Caller(key_id="k1", name="helen", role="hr", divisions=("retail",))
REQ = {"title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
       "required_skills": ["Coffee"], "skills": [], "min_years": 1,
       "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.on = False

    def started(self, event):
        if self.on:
            self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def count(self, run) -> Counter:
        self.names.clear()
        self.on = True
        try:
            run()
        finally:
            self.on = False
        return Counter(self.names)


class RelayedInBatches(InProcessBus):
    """The bus as it runs: relayed events are pulled off their documents in batches (one update_many per
    collection every 50 ms, shared by every document written meanwhile), so not counted per handler here."""

    def write(self, collection, doc_id, decide, envelope=None):
        clear, self.store.clear_relayed = self.store.clear_relayed, lambda *a: None
        try:
            return super().write(collection, doc_id, decide, envelope)
        finally:
            self.store.clear_relayed = clear


@pytest.fixture
def counted(test_infra):
    listener = Commands()
    client = mongo_client(test_infra.mongo_url, event_listeners=[listener])
    name = f"{test_infra.namespace}_sourcing_{new_id('t')}"
    store = SourcingStore(client, name)
    store.ensure_indexes()
    svc = worker_factory(SourcingService, store=store, bus=RelayedInBatches(store, HR), settings=Settings())
    try:
        yield svc, listener
    finally:
        client.drop_database(name)
        client.close()


def _application(req_id, email):
    return {"requisition_id": req_id, "source": "referral", "answers": {"permit": True},
            "candidate": {"name": "Ann", "email": email, "skills": ["coffee"], "years_experience": 2}}


def _screened(app_id):
    return {"application_id": app_id, "requisition_id": "r", "division": "retail",
            "result": {"passed": True, "score": 80, "match": 50, "matched_skills": ["Coffee"], "missing_skills": [],
                       "reasons": ["ok"], "override": None}}


def test_submit_and_screened_stay_within_their_command_budget(counted):
    svc, listener = counted
    req = svc.create_requisition(**REQ)
    other = svc.create_requisition(**{**REQ, "title": "Shift lead"})
    apps = {}
    new = listener.count(lambda: apps.setdefault("a", svc.submit_application(**_application(req["id"], "a@x.org"))))
    again = listener.count(lambda: apps.setdefault("b", svc.submit_application(**_application(other["id"], "a@x.org"))))
    screened = listener.count(lambda: deliver(svc.on_application_screened, "screening", "application_screened",
                                              _screened(apps["a"]["id"])))
    print("submit, new candidate:", sum(new.values()), dict(new))
    print("submit, known candidate:", sum(again.values()), dict(again))
    print("application_screened:", sum(screened.values()), dict(screened))
    assert sum(new.values()) <= 6, new
    assert sum(again.values()) <= 6, again
    assert sum(screened.values()) <= 2, screened
