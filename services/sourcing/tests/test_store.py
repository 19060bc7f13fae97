"""SourcingStore against a real MongoDB (the test session's; embedded unless MONGO_URL is set)."""

from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from services.sourcing import domain
from services.sourcing.store import SourcingStore
from shared.contracts.commands import CandidateIn
from shared.crypto import lookup, open_sealed
from shared.ids import new_id
from shared.timeutil import utcnow


@pytest.fixture
def store(make_store):
    return make_store(SourcingStore)


def _profile(email, name="Ann Lee", **kw):
    cand = CandidateIn(name=name, email=email, years_experience=kw.pop("years", 2), **kw)
    return domain.candidate_key(cand.email), domain.profile_update(cand)


def _upsert(store, profile, division="retail"):
    """What a submit does before it writes the application: two single-document writes, no transaction."""
    key, update = profile
    cand, created = store.candidate_for(key, utcnow())
    store.save_profile(cand, division, update, utcnow(), new_candidate=created)
    return cand


def _insert(store, app):
    store.write_document("applications", app["_id"], lambda state, change: dict(app))


def _app(candidate_id, requisition_id, division="retail", status="received"):
    now = utcnow()
    return {"_id": new_id("app"), "candidate_id": candidate_id, "requisition_id": requisition_id,
            "division": division, "status": status, "talent_pool_consent": False, "timeline": [],
            "created_at": now, "updated_at": now}


def _req(division="retail", status="open", urgent=False):
    return {"_id": new_id("req"), "division": division, "status": status, "urgent": urgent, "title": "t",
            "created_at": utcnow()}


def test_candidate_dedup_over_case_and_whitespace_variants(store):
    first = _upsert(store, _profile("Ann.Lee@Example.com", phone="+1 555 0100", skills=["SQL"]))
    second = _upsert(store, _profile("  ann.lee@EXAMPLE.COM ", name="Ann B. Lee", years=4, skills=["Go", "sql"]))
    third = _upsert(store, _profile("ANN.LEE@example.com", name="Ann Lee"))
    assert first["_id"] == second["_id"] == third["_id"]
    assert first["_id"].startswith("cand_")
    assert store.db.candidates.count_documents({}) == 1
    core = store.get_candidate(first["_id"])
    assert core["email_key"] == lookup("ann.lee@example.com") and "name" not in core and "email" not in core
    assert core["created_at"] <= core["updated_at"]
    latest = store.get_profile(first["_id"], "retail")
    # within a division the latest profile wins; a phone left out of the latest application is kept
    assert latest["name"] == "Ann Lee" and latest["years_experience"] == 2
    assert open_sealed(latest["phone"]) == "+1 555 0100"
    other = _upsert(store, _profile("ann.lee@example.org"))
    assert other["_id"] != first["_id"]


def test_each_division_keeps_its_own_profile_of_one_candidate(store):
    ann = _upsert(store, _profile("Ann.Lee@Example.com", phone="+1 555 0100", skills=["SQL"], location="Leeds"),
                  "alpha")
    other = _upsert(store, _profile("ANN.LEE@example.com", name="Someone", phone=None, skills=["Go"], location="Mars"),
                    "beta")
    assert other["_id"] == ann["_id"] and store.db.candidates.count_documents({}) == 1
    alpha, beta = store.get_profile(ann["_id"], "alpha"), store.get_profile(ann["_id"], "beta")
    assert (alpha["name"], open_sealed(alpha["phone"]), alpha["skills"], alpha["location"]) == (
        "Ann Lee", "+1 555 0100", ["SQL"], "Leeds")
    assert (beta["name"], beta["phone"], beta["skills"], beta["location"]) == ("Someone", None, ["Go"], "Mars")
    assert [p["division"] for p in store.profiles_of(ann["_id"])] == ["alpha", "beta"]
    assert [p["division"] for p in store.profiles_of(ann["_id"], ["beta"])] == ["beta"]
    names = store.candidate_names([(ann["_id"], "alpha"), (ann["_id"], "beta"), (ann["_id"], "gamma")])
    assert names == {(ann["_id"], "alpha"): "Ann Lee", (ann["_id"], "beta"): "Someone", (ann["_id"], "gamma"): None}


def test_a_candidate_stored_before_profiles_per_division_keeps_working(store):
    """Migration (docs/decisions/002): the legacy profile on the candidate answers for divisions without
    their own, and the first application of a division starts its own without touching the legacy one."""
    key, update = _profile("leg@example.com", name="Legacy Lee", phone="+44 111", location="York")
    legacy = {"_id": new_id("cand"), "email_key": key, **update, "created_at": utcnow(), "updated_at": utcnow()}
    store.db.candidates.insert_one(legacy)
    assert store.candidate_names([(legacy["_id"], "alpha")]) == {(legacy["_id"], "alpha"): "Legacy Lee"}
    beta = _upsert(store, _profile("LEG@example.com", name="Beta Name", skills=["Go"]), "beta")
    assert beta["_id"] == legacy["_id"]
    mine = store.get_profile(legacy["_id"], "beta")
    assert (mine["name"], open_sealed(mine["phone"]), mine["location"]) == ("Beta Name", "+44 111", "York")
    kept = store.get_candidate(legacy["_id"])
    assert domain.legacy_profile(kept)["name"] == "Legacy Lee"  # what alpha still sees
    assert store.candidate_names([(legacy["_id"], "alpha"), (legacy["_id"], "beta")]) == {
        (legacy["_id"], "alpha"): "Legacy Lee", (legacy["_id"], "beta"): "Beta Name"}
    counts, _ = store.transact(lambda uow: uow.store.erase_candidate_records(legacy["_id"], "era_1", utcnow(),
                                                                              uow.session))
    assert counts["profiles"] == 1 and store.profiles_of(legacy["_id"]) == []
    assert domain.legacy_profile(store.get_candidate(legacy["_id"])) is None


def test_candidate_email_key_is_a_unique_index(store):
    _upsert(store, _profile("bo@example.com"))
    with pytest.raises(DuplicateKeyError):
        store.db.candidates.insert_one({"_id": new_id("cand"), "email_key": lookup("bo@example.com")})


def test_one_application_per_candidate_and_requisition(store):
    _insert(store, _app("cand_1", "req_1"))
    with pytest.raises(DuplicateKeyError):
        store.db.applications.insert_one(_app("cand_1", "req_1"))
    _insert(store, _app("cand_1", "req_2"))
    _insert(store, _app("cand_2", "req_1"))
    assert store.db.applications.count_documents({}) == 3
    assert store.find_application("cand_1", "req_1")["requisition_id"] == "req_1"
    assert store.find_application("cand_3", "req_1") is None


def test_two_first_applications_of_one_new_candidate_racing_end_with_one_candidate(store, monkeypatch):
    key, _ = _profile("race@example.com")
    # the other application inserts the same candidate between this one's read and its insert
    real_find = store.db.candidates.find_one
    other = {"_id": "cand_other", "email_key": key, "created_at": utcnow(), "updated_at": utcnow()}
    calls = []

    def find_one(query, *args, **kwargs):
        calls.append(query)
        if len(calls) == 1:
            store.db.candidates.insert_one(other)
            return None
        return real_find(query, *args, **kwargs)

    monkeypatch.setattr(type(store.db.candidates), "find_one", lambda self, q, *a, **k: find_one(q, *a, **k))
    cand, created = store.candidate_for(key, utcnow())
    monkeypatch.undo()
    assert (cand["_id"], created, len(calls)) == ("cand_other", False, 2)
    assert store.db.candidates.count_documents({}) == 1


def test_an_erasure_makes_a_stale_write_of_an_application_read_again(store):
    """The anonymised application gets a new _rev: a handler that read it before cannot write over it."""
    key, update = _profile("gone@example.com")
    cand = _upsert(store, (key, update))
    app = {**_app(cand["_id"], "req_1"), "answers": {"q": True}}
    _insert(store, app)
    seen = []

    def decide(state, change):
        seen.append(state.get("erased"))
        if len(seen) == 1:  # the erasure commits between this handler's read and its write
            store.transact(lambda uow: uow.store.erase_candidate_records(cand["_id"], "era_1", utcnow(), uow.session))
        state["status"] = "shortlisted"
        return state

    store.write_document("applications", app["_id"], decide)
    assert seen == [None, True]  # ran again on the erased application (BusHandle.write then skips it: about=)
    stored = store.db.applications.find_one({"_id": app["_id"]})
    assert stored["erased"] is True and stored["answers"] == {} and stored["_rev"] == 3


def test_requisitions_page_in_creation_order_with_filters(store):
    docs = []
    for i in range(7):
        doc = _req(division="retail" if i % 2 == 0 else "logistics", urgent=i in (0, 4), status="open")
        store.transact(lambda uow, d=doc: uow.store.insert_requisition(d, uow.session))
        docs.append(doc)
    seen, cursor, pages = [], None, 0
    while True:
        items, cursor = store.list_requisitions(None, None, None, 3, cursor)
        seen += [d["_id"] for d in items]
        pages += 1
        if cursor is None:
            break
    assert seen == [d["_id"] for d in docs] and pages == 3
    retail, cursor = store.list_requisitions(["retail"], "open", None, 50, None)
    assert [d["_id"] for d in retail] == [docs[i]["_id"] for i in (0, 2, 4, 6)] and cursor is None
    urgent, _ = store.list_requisitions(["retail", "logistics"], None, True, 50, None)
    assert [d["_id"] for d in urgent] == [docs[0]["_id"], docs[4]["_id"]]
    nothing, _ = store.list_requisitions(["hq"], None, None, 50, None)
    assert nothing == []


def test_close_requisition_only_once(store):
    doc = _req()
    store.transact(lambda uow: uow.store.insert_requisition(doc, uow.session))
    at = utcnow()
    closed, _ = store.transact(lambda uow: uow.store.close_requisition(doc["_id"], "filled", at, uow.session))
    assert closed["status"] == "closed" and closed["close_reason"] == "filled"
    assert abs(closed["closed_at"] - at) < timedelta(milliseconds=2)
    again, _ = store.transact(lambda uow: uow.store.close_requisition(doc["_id"], "cancelled", at, uow.session))
    assert again is None
    assert store.get_requisition(doc["_id"])["close_reason"] == "filled"


def test_applications_page_and_filter_by_status(store):
    ids = []
    for i in range(5):
        a = _app(f"cand_{i}", "req_1", status="shortlisted" if i % 2 else "received")
        _insert(store, a)
        ids.append(a["_id"])
    _insert(store, _app("cand_0", "req_other"))
    first, cursor = store.list_applications("req_1", None, 2, None)
    second, cursor2 = store.list_applications("req_1", None, 2, cursor)
    third, cursor3 = store.list_applications("req_1", None, 2, cursor2)
    assert [a["_id"] for a in first + second + third] == ids and cursor3 is None
    shortlisted, _ = store.list_applications("req_1", "shortlisted", 50, None)
    assert [a["_id"] for a in shortlisted] == [ids[1], ids[3]]


def test_candidate_applications_limited_to_divisions(store):
    for a in (_app("cand_9", "req_a", "retail"), _app("cand_9", "req_b", "logistics"), _app("cand_8", "req_a")):
        _insert(store, a)
    assert len(store.candidate_applications("cand_9")) == 2
    assert [a["division"] for a in store.candidate_applications("cand_9", ["logistics"])] == ["logistics"]
    assert store.candidate_applications("cand_9", []) == []


def test_an_application_and_its_events_are_one_write(store):
    a = _app("cand_1", "req_1")
    _insert(store, a)

    def boom(app, change):
        app["status"] = "shortlisted"
        change.emit("application_status_changed", {"application_id": a["_id"]})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write_document("applications", a["_id"], boom)
    stored = store.db.applications.find_one({"_id": a["_id"]})
    assert stored["status"] == "received" and stored["outbox"] == [] and "outbox_pending" not in stored

    def move(app, change):
        app["status"] = "shortlisted"
        change.emit("application_status_changed", {"application_id": a["_id"]})
        return app

    store.write_document("applications", a["_id"], move, event_id="evt_1")
    stored = store.db.applications.find_one({"_id": a["_id"]})
    assert stored["status"] == "shortlisted" and stored["inbox"] == ["evt_1"] and stored["outbox_pending"] is True
    assert [e["type"] for e in stored["outbox"]] == ["application_status_changed"]
    assert store.pending_documents("applications")[0]["_id"] == a["_id"]  # the sweep finds it (sparse index)
