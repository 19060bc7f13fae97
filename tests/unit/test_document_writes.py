"""One document, one write (shared/storage.py `write_document`, docs/decisions/004-one-document-writes.md): the
state change, the handled event's id and the events it causes land in one conditional write of one document."""

from __future__ import annotations

import pytest

from shared.storage import AlreadyHandled, ServiceStore, StillContended


class Projections(ServiceStore):
    owner = "plain"
    documents_with_outbox = ("things",)


def _count(n):
    def decide(state, change):
        state = state or {"n": 0}
        state["n"] += n
        change.emit("counted", {"application_id": "app_1", "n": state["n"]})
        return state
    return decide


def test_create_then_update_keeps_state_inbox_and_outbox_in_the_document(make_store):
    store = make_store(Projections)
    doc, emitted, entries = store.write_document("things", "app_1", _count(2), event_id="evt_1")
    assert doc["n"] == 2 and doc["_rev"] == 1 and doc["inbox"] == ["evt_1"] and doc["outbox_pending"] is True
    assert [e["_id"] for e in entries] == [emitted[0].event_id]
    doc, emitted, _ = store.write_document("things", "app_1", _count(3), event_id="evt_2")
    stored = store.db.things.find_one({"_id": "app_1"})
    assert stored["n"] == 5 and stored["_rev"] == 2 and stored["inbox"] == ["evt_1", "evt_2"]
    assert [e["envelope"]["payload"]["n"] for e in stored["outbox"]] == [2, 5]
    with pytest.raises(AlreadyHandled):  # a redelivery, whichever of the two it is
        store.write_document("things", "app_1", _count(100), event_id="evt_1")
    assert store.db.things.find_one({"_id": "app_1"})["n"] == 5


def test_a_field_the_new_state_drops_is_removed_and_a_no_op_writes_nothing(make_store):
    store = make_store(Projections)
    store.write_document("things", "a", lambda s, c: {"keep": 1, "drop": 2})
    store.write_document("things", "a", lambda s, c: {k: v for k, v in s.items() if k != "drop"})
    assert store.db.things.find_one({"_id": "a"}) == {"_id": "a", "keep": 1, "_rev": 2, "inbox": [], "outbox": []}
    doc, emitted, _ = store.write_document("things", "a", lambda s, c: None, event_id="evt_9")
    assert emitted == [] and store.db.things.find_one({"_id": "a"})["_rev"] == 2


def test_a_write_in_between_makes_the_step_run_again_on_what_is_there(make_store):
    store = make_store(Projections)
    store.write_document("things", "a", _count(1))
    runs = []

    def racing(state, change):
        runs.append(state["n"])
        if len(runs) == 1:  # another replica writes between this read and this write
            store.write_document("things", "a", _count(10))
        state["n"] += 100
        return state

    doc, _, _ = store.write_document("things", "a", racing)
    assert runs == [1, 11] and store.db.things.find_one({"_id": "a"})["n"] == 111


def test_two_first_writes_racing_both_count(make_store):
    store = make_store(Projections)
    runs = []

    def first(state, change):
        runs.append(state)
        if len(runs) == 1:
            store.write_document("things", "new", _count(5))
        return {"n": (state or {"n": 0})["n"] + 1}

    store.write_document("things", "new", first)
    assert runs[0] is None and runs[1]["n"] == 5 and store.db.things.find_one({"_id": "new"})["n"] == 6


def test_a_document_that_keeps_changing_gives_up_as_contended(make_store):
    store = make_store(Projections)
    store.write_document("things", "a", _count(1))

    def always_raced(state, change):
        store.db.things.update_one({"_id": "a"}, {"$inc": {"_rev": 1}})
        return state

    with pytest.raises(StillContended):
        store.write_document("things", "a", always_raced, retries=3)


def test_events_about_an_erased_candidate_change_nothing(make_store):
    store = make_store(Projections)
    store.mark_erased("cand_1", "era_1", ["app_1"])
    for about in ((["cand_1"], []), ([], ["app_1"])):  # a new document whose subject has a tombstone
        assert store.write_document("things", "app_1", _count(1), event_id="e", about=about) == (None, [], [])
    assert store.db.things.count_documents({}) == 0
    store.db.things.insert_one({"_id": "app_2", "erased": True, "n": 0})  # an anonymised document
    assert store.write_document("things", "app_2", _count(1), event_id="e2", about=(["cand_2"], ["app_2"]))[1] == []
    assert store.db.things.find_one({"_id": "app_2"})["n"] == 0
    doc, emitted, _ = store.write_document("things", "app_3", _count(1), event_id="e3", about=(["cand_3"], ["app_3"]))
    assert doc["n"] == 1 and len(emitted) == 1


def test_relayed_events_are_pulled_off_in_one_batch_and_empty_outboxes_leave_the_index(make_store):
    store = make_store(Projections)
    ids = {}
    for doc_id in ("a", "b", "c"):
        ids[doc_id] = store.write_document("things", doc_id, _count(1))[2][0]["_id"]
    store.clear_relayed("things", ["a", "b"], [ids["a"], ids["b"]])
    # c's event was not relayed: it stays, and c stays pending
    pending = {d["_id"]: d["outbox"] for d in store.pending_documents("things")}
    assert pending["a"] == [] and pending["b"] == [] and [e["_id"] for e in pending["c"]] == [ids["c"]]
    # an event added to a after the sweep read it keeps a pending
    store.write_document("things", "a", _count(1))
    store.settle_empty_outboxes("things", ["a", "b", "c"])
    assert {d["_id"] for d in store.pending_documents("things")} == {"a", "c"}


def test_a_document_outbox_is_leased_to_one_sweep_at_a_time(make_store):
    store = make_store(Projections)
    store.write_document("things", "a", _count(1))
    assert store.lease_document_outbox("things", "a") is True
    assert store.lease_document_outbox("things", "a") is False


def test_an_erasure_redacts_events_still_waiting_on_documents(make_store):
    store = make_store(Projections)

    def with_name(state, change):
        change.emit("counted", {"application_id": "app_1", "candidate_id": "cand_1",
                                "candidate": {"name": "Ada Lovelace"}})
        return {"n": 1}

    store.write_document("things", "app_1", with_name)

    def other(state, change):
        change.emit("counted", {"application_id": "app_2", "candidate": {"name": "Grace"}})
        return {"n": 1}

    store.write_document("things", "app_2", other)
    assert store.erase_from_outbox("cand_1", ["app_1"]) == 1
    assert "Ada Lovelace" not in str(store.db.things.find_one({"_id": "app_1"}))
    assert "Grace" in str(store.db.things.find_one({"_id": "app_2"}))


def test_emitting_without_writing_the_document_is_a_programming_error(make_store):
    store = make_store(Projections)

    def emits_only(state, change):
        change.emit("counted", {"application_id": "a"})
        return None

    with pytest.raises(AssertionError):
        store.write_document("things", "a", emits_only)
    assert store.db.things.count_documents({}) == 0


def test_a_clash_on_another_unique_index_is_the_callers_to_answer(make_store):
    """Only an `_id` clash is a race to read again; another unique index refusing the new document is an
    answer (a duplicate application), raised at once and not retried."""
    from pymongo import ASCENDING
    from pymongo.errors import DuplicateKeyError

    store = make_store(Projections)
    store.db.things.create_index([("pair", ASCENDING)], unique=True)
    store.write_document("things", "a", lambda s, c: {"pair": "cand_1/req_1"})
    runs = []

    def same_pair(state, change):
        runs.append(state)
        return {"pair": "cand_1/req_1"}

    with pytest.raises(DuplicateKeyError):
        store.write_document("things", "b", same_pair)
    assert runs == [None] and store.db.things.count_documents({}) == 1
