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
from shared.errors import Conflict
from shared.ids import new_id
from shared.storage import mongo_client
from tests.support.divisions import register
from tests.support.shell import InProcessBus, deliver

HR = Caller(key_id="k1", name="helen", role="hr", divisions=("retail",))
REQ = {"title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
       "required_skills": ["Coffee"], "skills": [], "min_years": 1,
       "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.filters: list[tuple[str, dict]] = []
        self.on = False

    def started(self, event):
        if self.on:
            self.names.append(event.command_name)
            cmd = event.command
            if event.command_name == "find":
                self.filters.append((cmd["find"], dict(cmd.get("filter") or {})))
            elif event.command_name == "update":
                self.filters.extend((cmd["update"], dict(u["q"])) for u in cmd.get("updates") or ())

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def count(self, run) -> Counter:
        self.names.clear()
        self.filters.clear()
        self.on = True
        try:
            run()
        finally:
            self.on = False
        return Counter(self.names)


class RelayedInBatches(InProcessBus):
    """The bus as it runs: relayed events are pulled off their documents in batches (one update_many per
    collection every 50 ms, shared by every document written meanwhile), so not counted per handler here."""

    def write(self, collection, doc_id, decide, envelope=None, *, new=False):
        clear, self.store.clear_relayed = self.store.clear_relayed, lambda *a: None
        try:
            return super().write(collection, doc_id, decide, envelope, new=new)
        finally:
            self.store.clear_relayed = clear


@pytest.fixture
def counted(test_infra):
    listener = Commands()
    client = mongo_client(test_infra.mongo_url, event_listeners=[listener])
    name = f"{test_infra.namespace}_sourcing_{new_id('t')}"
    store = SourcingStore(client, name)
    register(store)  # ensure_indexes, then the registered divisions (as at start-up)
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


def _unindexed(store, filters) -> list:
    """The filters no index serves (its fields not a prefix of any index's): a collection scan on the
    embedded store (secantusdb)."""
    out = []
    for collection, query in filters:
        fields = [f for f in query if not f.startswith("$")]
        prefixes = [[k for k, _ in spec["key"]] for spec in store.db[collection].index_information().values()]
        if any(f.startswith("$") for f in query) or not any(p[:len(fields)] == fields or fields[:1] == p[:1]
                                                            for p in prefixes):
            out.append((collection, query))
    return out


def test_submit_and_the_status_handlers_stay_within_their_command_budget(counted):
    svc, listener = counted
    assert _unindexed(svc.store, [("applications", {"source": "referral"}), ("candidates", {"$or": []})]) == [
        ("applications", {"source": "referral"}), ("candidates", {"$or": []})]  # what the check below refuses
    req = svc.create_requisition(**REQ)
    other = svc.create_requisition(**{**REQ, "title": "Shift lead"})
    apps = {}
    new = listener.count(lambda: apps.setdefault("a", svc.submit_application(**_application(req["id"], "a@x.org"))))
    assert _unindexed(svc.store, listener.filters) == []
    again = listener.count(lambda: apps.setdefault("b", svc.submit_application(**_application(other["id"], "a@x.org"))))
    assert _unindexed(svc.store, listener.filters) == []
    app_id = apps["a"]["id"]
    screened = listener.count(lambda: deliver(svc.on_application_screened, "screening", "application_screened",
                                              _screened(app_id)))
    assert _unindexed(svc.store, listener.filters) == []
    print("submit, new candidate:", sum(new.values()), dict(new))
    print("submit, known candidate:", sum(again.values()), dict(again))
    print("application_screened:", sum(screened.values()), dict(screened))
    # a new candidate: requisition, candidate read + insert, profile upsert, application read + insert; a known
    # one: requisition, candidate, profile read + upsert, application read + insert
    assert sum(new.values()) <= 6, new
    assert sum(again.values()) <= 6, again
    assert "commitTransaction" not in new and "commitTransaction" not in again
    assert sum(screened.values()) <= 2, screened  # find + conditional update

    later = [
        (svc.on_interview_scheduled, "interview_scheduled", {
            "interview_id": "int_1", "application_id": app_id, "division": "retail", "interviewers": ["ivan"],
            "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"}),
        (svc.on_interview_completed, "interview_completed", {"application_id": app_id, "division": "retail",
                                                             "summary": SUMMARY}),
        (svc.on_decision_recorded, "decision_recorded", {
            "application_id": app_id, "division": "retail", "tier": "basic", "next_status": "offered",
            "decision": {"outcome": "pass", "decided_by": "helen", "decided_at": "2026-01-03T00:00:00Z"}}),
    ]
    for handler, event_type, payload in later:
        used = listener.count(lambda h=handler, t=event_type, p=payload: deliver(h, "interview_feedback", t, p))
        assert sum(used.values()) <= 2, (event_type, used)
    assert svc.get_application(application_id=app_id)["status"] == "offered"

    # RPC commands on one application: one write too
    confirmed = listener.count(lambda: svc.record_confirmation(application_id=app_id, result="confirmed"))
    assert sum(confirmed.values()) <= 2, confirmed
    # the fast track (talent_pool's re-engagement): no transaction either
    third = svc.create_requisition(**{**REQ, "title": "Night shift"})
    svc.bus.caller = Caller.system("talent_pool")
    fast = listener.count(lambda: svc.submit_fast_track_application(
        requisition_id=third["id"], candidate_id=apps["a"]["candidate_id"], reengagement_id="re_1",
        reuse_interview_from=app_id))
    print("record_confirmation:", sum(confirmed.values()), "fast track:", sum(fast.values()), dict(fast))
    assert "commitTransaction" not in fast and sum(fast.values()) <= 8, fast
    assert _unindexed(svc.store, listener.filters) == []

    # a duplicate is answered by the unique index, looked up only then (the existing id for the 409)
    with pytest.raises(Conflict) as exc:
        svc.submit_application(**_application(req["id"], "A@x.org"))
    assert app_id in exc.value.message


SUMMARY = {"interview_id": "int_1", "average": 4.5, "by_competency": {"coffee": 4.5}, "recommendations": {"yes": 2},
           "discrepancy": {"flagged": False, "competencies": [], "spread": {}}, "highlights": [],
           "completed_at": "2026-01-01T00:00:00Z"}
