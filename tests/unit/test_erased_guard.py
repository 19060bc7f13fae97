"""The erased-marker guard of the unit of work (shared/storage.py, shared/erasure.py): every event handler of
every service runs in `ServiceStore.transact(about=subjects(...))`, so an event about an erased candidate or
one of their applications is recorded as handled and changes nothing, whichever handler it is for."""

from __future__ import annotations

import pytest

from services.interview_feedback.store import InterviewFeedbackStore
from services.notification.store import NotificationStore
from services.sourcing.store import SourcingStore
from services.talent_pool.store import TalentPoolStore
from shared.bus.topology import SUBSCRIPTIONS
from shared.contracts.events import EVENT_MODELS
from shared.erasure import ERASURE_EVENTS, subjects
from shared.storage import AlreadyHandled, ServiceStore

# Events that name no person: requisitions.
ABOUT_NO_ONE = {"requisition_opened", "requisition_closed"}


class PlainStore(ServiceStore):
    owner = "plain"


def test_every_consumed_event_about_a_person_names_a_candidate_or_an_application():
    """The guard reads `candidate_id` / `application_id` from the payload: each event a service consumes either
    names one of them, is a requisition event, or is the erasure's own."""
    for consumer, events in SUBSCRIPTIONS.items():
        for producer, event_type in events:
            fields = EVENT_MODELS[(producer, event_type)].model_fields
            if event_type in ERASURE_EVENTS or event_type in ABOUT_NO_ONE:
                continue
            assert {"candidate_id", "application_id"} & set(fields), (consumer, producer, event_type)


def test_subjects_of_an_event():
    assert subjects("interview_completed", {"application_id": "app_1", "division": "d"}) == ([], ["app_1"])
    assert subjects("application_received", {"application_id": "app_1", "candidate_id": "cand_1"}) == (
        ["cand_1"], ["app_1"])
    assert subjects("reengagement_requested", {"candidate_id": "cand_1", "reengagement_id": "r"}) == (["cand_1"], [])
    assert subjects("requisition_opened", {"requisition": {"id": "req_1"}}) is None
    assert subjects("application_received", {"application_id": None, "candidate_id": ""}) is None
    for event_type in ERASURE_EVENTS:  # the erasure's own events are always handled
        assert subjects(event_type, {"candidate_id": "cand_1", "application_ids": ["app_1"]}) is None


@pytest.mark.parametrize("store_cls", [PlainStore, SourcingStore, TalentPoolStore, NotificationStore,
                                       InterviewFeedbackStore])
def test_an_event_about_an_erased_candidate_is_recorded_and_does_nothing(make_store, store_cls):
    store = make_store(store_cls)
    store.transact(lambda uow: uow.store.mark_erased("cand_1", "era_1", ["app_1"], session=uow.session))
    ran = []

    def work(uow):
        uow.store.db.touched.insert_one({"_id": len(ran)}, session=uow.session)
        uow.emit("something", {"x": 1})
        ran.append(1)
        return "done"

    for about in ((["cand_1"], []), ([], ["app_1"]), (["cand_2"], ["app_1"]), (["cand_1"], ["app_9"])):
        event_id = f"evt_{len(about[0])}{len(about[1])}{about[0][:1]}{about[1][:1]}"
        assert store.transact(work, inbox_event_id=event_id, about=about) == (None, [])
        assert store.db.inbox.find_one({"_id": event_id}) is not None  # acked as handled, not retried
        with pytest.raises(AlreadyHandled):  # a redelivery is the usual duplicate
            store.transact(work, inbox_event_id=event_id, about=about)
    assert ran == [] and store.db.touched.count_documents({}) == 0 and store.db.outbox.count_documents({}) == 0
    # Anyone else's events run as before.
    result, emitted = store.transact(work, inbox_event_id="evt_other", about=(["cand_2"], ["app_2"]))
    assert result == "done" and len(emitted) == 1 and ran == [1]
    # The tombstone gathers every erasure's applications; a repeated one adds nothing twice.
    store.transact(lambda uow: uow.store.mark_erased("cand_1", "era_1", ["app_1", "app_3"], session=uow.session))
    assert store.db.erased.find_one({"_id": "cand_1"})["application_ids"] == ["app_1", "app_3"]
    assert store.is_application_erased("app_3") and not store.is_application_erased("app_2")


def test_stores_that_know_an_application_candidate_catch_tombstones_without_application_ids(make_store):
    """Tombstones written before they named applications: the store's own records link the application."""
    sourcing = make_store(SourcingStore)
    sourcing.db.applications.insert_one({"_id": "app_1", "candidate_id": "cand_1", "erased": True})
    sourcing.db.applications.insert_one({"_id": "app_2", "candidate_id": "cand_2"})
    assert sourcing.erased_any([], ["app_1"]) and not sourcing.erased_any([], ["app_2"])

    pool = make_store(TalentPoolStore)
    pool.db.erased.insert_one({"_id": "cand_1", "erasure_id": "era_1"})
    pool.db.applications.insert_many([{"_id": "app_1", "candidate_id": "cand_1"},
                                      {"_id": "app_2", "candidate_id": "cand_2"}])
    assert pool.erased_any([], ["app_1"]) and not pool.erased_any([], ["app_2", "app_404"])

    notes = make_store(NotificationStore)
    notes.db.contacts.insert_many([{"_id": "app_1", "candidate_id": "cand_1", "erased": True},
                                   {"_id": "app_2", "candidate_id": "cand_2"}])
    assert notes.erased_any([], ["app_1"]) and not notes.erased_any([], ["app_2"])

    feedback = make_store(InterviewFeedbackStore)
    feedback.db.erased.insert_one({"_id": "cand_1", "erasure_id": "era_1"})
    feedback.db.interviews.insert_many([{"_id": "int_1", "application_id": "app_1", "candidate_id": "cand_1"},
                                        {"_id": "int_2", "application_id": "app_2", "candidate_id": "cand_2"}])
    assert feedback.erased_any([], ["app_1"]) and not feedback.erased_any([], ["app_2"])
