"""How many MongoDB commands notification's intake handlers issue (counted by a pymongo CommandListener on the
store's own client): the hot path's budget (issue 17). A query added to these handlers makes this fail."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.webhook import WebhookSender
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.ids import new_id
from shared.storage import mongo_client
from shared.timeutil import iso, utcnow
from tests.support.hot_path import CommandLog
from tests.support.shell import InProcessBus, deliver

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("retail",))


class Mailer:
    def __init__(self):
        self.sent: list[dict] = []

    def send(self, notice: dict) -> str:
        self.sent.append(notice)
        return f"<{notice['_id']}@test>"


@pytest.fixture
def counted(test_infra):
    counter = CommandLog()
    client = mongo_client(test_infra.mongo_url, event_listeners=[counter])
    name = f"{test_infra.namespace}_notification_{new_id('t')}"
    store = NotificationStore(client, name)
    store.ensure_indexes()
    mailer = Mailer()
    svc = worker_factory(NotificationService, store=store, bus=InProcessBus(store, HR), mailer=mailer,
                         webhooks=WebhookSender(), retries=Retries(backoff_base=5, max_attempts=5),
                         reply_to_fallback=None, settings=Settings())
    try:
        yield svc, counter, store, mailer
    finally:
        client.drop_database(name)
        client.close()


def received(svc, app_id):
    return deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": f"cand_{app_id}", "source": "referral",
        "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": "li@example.com", "skills": ["Coffee"]}})


def status(svc, app_id, new, sequence, previous="received"):
    return deliver(svc.on_status_changed, "sourcing", "application_status_changed", {
        "sequence": sequence, "application_id": app_id, "candidate_id": f"cand_{app_id}",
        "requisition_id": "req_1", "requisition_title": "Barista", "division": "retail", "tier": "basic",
        "urgent": False, "source": "referral", "previous_status": previous, "status": new, "at": iso(utcnow()),
        "screening": {"passed": new == "shortlisted", "score": 40, "match": 40, "matched_skills": [],
                      "missing_skills": ["Coffee"], "reasons": ["Missing Coffee."]}})


def count(counter, fn, *args):
    counter.clear()
    fn(*args)
    return counter.names


def test_intake_in_order_received_then_shortlisted_or_screened_out(counted):
    svc, counter, store, _ = counted
    got = {
        "received": count(counter, received, svc, "app_a"),
        "shortlisted": count(counter, status, svc, "app_a", "shortlisted", 2),
        "received 2": count(counter, received, svc, "app_b"),
        "screened_out": count(counter, status, svc, "app_b", "screened_out", 2),
    }
    print({k: (len(v), v) for k, v in got.items()})
    # the tombstones, then the contact inserted without a read first (nearly always the application's first event)
    assert got["received"] == ["find", "insert"], got["received"]
    assert len(got["shortlisted"]) <= 2, got["shortlisted"]
    # the rejection and the survey, waiting a day: contact, policy, then one transaction writing the contact,
    # both notices and the timing record
    assert len(got["screened_out"]) <= 6, got["screened_out"]
    assert sorted(n["kind"] for n in store.db.notices.find({"application_id": "app_b"})) == ["rejection", "survey"]
    assert store.db.notices.count_documents({"application_id": "app_a"}) == 0


def test_intake_out_of_order_screened_out_before_received(counted):
    svc, counter, store, _ = counted
    got = {
        "screened_out first": count(counter, status, svc, "app_c", "screened_out", 2),
        "received after": count(counter, received, svc, "app_c"),
        "shortlisted first": count(counter, status, svc, "app_d", "shortlisted", 2),
        "received after shortlisted": count(counter, received, svc, "app_d"),
    }
    print({k: (len(v), v) for k, v in got.items()})
    assert len(got["screened_out first"]) <= 4, got["screened_out first"]
    assert len(got["shortlisted first"]) <= 3, got["shortlisted first"]
    # the insert that expects a new contact clashes, then a read and the write: one more than in order
    assert len(got["received after shortlisted"]) <= 4, got["received after shortlisted"]
    # the insert that expects a new contact clashes, then the pending notices are planned in a transaction
    assert len(got["received after"]) <= 9, got["received after"]
    assert sorted(n["kind"] for n in store.db.notices.find({"application_id": "app_c"})) == ["rejection", "survey"]
    assert store.db.notices.count_documents({"application_id": "app_d"}) == 0
