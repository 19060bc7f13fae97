"""TalentPoolStore against a real MongoDB (the session's test infrastructure)."""

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from services.talent_pool.domain import build_pool_entry
from services.talent_pool.store import TalentPoolStore
from shared.storage import AlreadyHandled

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(make_store):
    return make_store(TalentPoolStore)


def run(store, fn, event_id=None):
    result, _ = store.transact(lambda uow: fn(uow.store, uow.session), inbox_event_id=event_id)
    return result


def pool_entry(cid, skills, division="logistics", pooled_at=NOW, retention_days=365):
    cand = {"candidate_id": cid, "name": cid.upper(), "skills": skills}
    app = {"_id": f"app_{cid}", "application_id": f"app_{cid}", "requisition_id": "req_old",
           "requisition_title": "Old", "division": division,
           "decision": {"outcome": "pass", "decided_at": pooled_at - timedelta(days=3)},
           "interview": {"average": 4.0, "by_competency": {"sql": 4.0}}}
    return build_pool_entry(cand, app, "declined", pooled_at, retention_days)


def test_requisition_close_before_open_leaves_a_closed_stub(store):
    doc = run(store, lambda s, ses: s.close_requisition("req_1", "retail", NOW, ses))
    assert doc["status"] == "closed" and doc["division"] == "retail" and doc["closed_at"] == NOW
    assert "required_skills" not in store.get_requisition("req_1")
    run(store, lambda s, ses: s.save_requisition({"_id": "req_2", "status": "open", "division": "retail",
                                                  "required_skills": ["x"]}, ses))
    run(store, lambda s, ses: s.close_requisition("req_2", "ignored", NOW, ses))
    got = store.get_requisition("req_2")
    assert got["status"] == "closed" and got["division"] == "retail" and got["required_skills"] == ["x"]


def test_applications_by_requisition_and_status(store):
    def work(s, ses):
        s.save_application({"_id": "a1", "candidate_id": "c1", "requisition_id": "r1", "status": "offered"}, ses)
        s.save_application({"_id": "a2", "candidate_id": "c2", "requisition_id": "r1", "status": "received"}, ses)
        s.save_application({"_id": "a3", "candidate_id": "c3", "requisition_id": "r2", "status": "offered"}, ses)
        s.save_application({"_id": "a4", "candidate_id": "c4", "requisition_id": "r2", "status": "received",
                            "reengagement_id": "reg_1"}, ses)
    run(store, work)
    assert [a["_id"] for a in store.applications_of_requisition("r1")] == ["a1", "a2"]
    assert [a["_id"] for a in store.applications_of_requisition("r1", status="offered")] == ["a1"]
    assert store.applying_candidate_ids("r1") == {"c1", "c2"}
    assert store.applying_candidate_ids("nope") == set()
    assert store.application_for_reengagement("reg_1")["_id"] == "a4"
    assert store.application_for_reengagement("reg_2") is None


def test_profile_latest_wins_per_division_and_hired_flag(store):
    assert store.save_profile("c1", "retail", "Ana", ["python"], NOW) == "created"
    assert store.save_profile("c1", "retail", "Old Ana", ["cobol"], NOW - timedelta(days=1)) is None
    assert store.save_profile("c1", "retail", "Ana", ["python"], NOW) == "updated"  # a redelivery: same again
    assert store.save_profile("c1", "retail", "Ana B", ["python", "sql"], NOW + timedelta(days=1)) == "updated"
    # another division's application, older or newer, is that division's profile only
    assert store.save_profile("c1", "logistics", "Someone", ["go"], NOW + timedelta(days=2)) == "created"
    p = store.get_profile("c1", "retail")
    assert p["name"] == "Ana B" and p["skills"] == ["python", "sql"] and p["profile_at"] == NOW + timedelta(days=1)
    assert store.get_profile("c1", "logistics")["name"] == "Someone"
    assert [x["division"] for x in store.profiles_of("c1")] == ["logistics", "retail"]
    assert store.get_candidate("c1") is None  # the candidate holds no profile any more (nor needs a document)
    assert store.hired_candidate_ids(["c1", "c2"]) == set()
    run(store, lambda s, ses: s.mark_hired("c1", "app_9", NOW, ses))
    run(store, lambda s, ses: s.mark_hired("c2", "app_8", NOW, ses))  # hired before any profile arrived
    assert store.hired_candidate_ids(["c1", "c2", "c3"]) == {"c1", "c2"}
    # a later profile keeps the hired flag
    run(store, lambda s, ses: s.save_profile("c2", "retail", "Bo", ["go"], NOW, ses))
    assert store.get_candidate("c2")["hired"] is True


def test_pool_filters_skill_division_and_expiry(store):
    def work(s, ses):
        s.save_pool_entry(pool_entry("c1", ["Python", "SQL"]), ses)
        s.save_pool_entry(pool_entry("c2", ["python"], division="retail"), ses)
        s.save_pool_entry(pool_entry("c3", ["Go"]), ses)
        s.save_pool_entry(pool_entry("c4", ["Python"], pooled_at=NOW - timedelta(days=40), retention_days=30), ses)
    run(store, work)

    def ids(**kw):
        docs, _ = store.list_pool(NOW, kw.get("skill"), kw.get("division"), 50, None)
        return [d["_id"] for d in docs]

    assert ids() == ["c1", "c2", "c3"]  # c4 expired
    assert ids(skill="python") == ["c1", "c2"]
    assert ids(skill="python", division="logistics") == ["c1"]
    assert ids(division="retail") == ["c2"]
    assert ids(skill="rust") == []
    assert [e["_id"] for e in store.active_pool(NOW)] == ["c1", "c2", "c3"]
    assert [e["_id"] for e in store.active_pool(NOW - timedelta(days=20))] == ["c1", "c2", "c3", "c4"]
    # datetimes come back UTC-aware
    assert store.get_pool_entry("c1")["retain_until"] == NOW + timedelta(days=365)


def test_pool_pages_with_cursor(store):
    run(store, lambda s, ses: [s.save_pool_entry(pool_entry(f"c{i}", ["x"]), ses) for i in range(5)])
    first, cursor = store.list_pool(NOW, None, None, 2, None)
    second, cursor2 = store.list_pool(NOW, None, None, 2, cursor)
    third, cursor3 = store.list_pool(NOW, None, None, 2, cursor2)
    assert [d["_id"] for d in first + second + third] == ["c0", "c1", "c2", "c3", "c4"]
    assert cursor3 is None


def test_pool_profile_update_and_removal(store):
    run(store, lambda s, ses: s.save_pool_entry(pool_entry("c1", ["x"]), ses))
    # another division's newer profile never changes the entry of the division that pooled the person
    run(store, lambda s, ses: s.update_pool_profile("c1", "retail", "Other", ["Go"], ["go"], ses))
    e = store.get_pool_entry("c1")
    assert (e["name"], e["skills"]) == ("C1", ["x"])
    run(store, lambda s, ses: s.update_pool_profile("c1", "logistics", "New", ["Rust"], ["rust"], ses))
    e = store.get_pool_entry("c1")
    assert (e["name"], e["skills"], e["skills_norm"]) == ("New", ["Rust"], ["rust"])
    assert e["reason"] == "declined"  # the rest of the entry is untouched
    run(store, lambda s, ses: s.update_pool_profile("c_absent", "logistics", "N", [], [], ses))
    assert store.get_pool_entry("c_absent") is None  # no entry is created by a profile update
    assert run(store, lambda s, ses: s.remove_from_pool("c1", ses)) is True
    assert run(store, lambda s, ses: s.remove_from_pool("c1", ses)) is False


def test_matches_are_stored_per_requisition(store):
    run(store, lambda s, ses: s.save_matches("r1", "logistics", [{"candidate_id": "c1", "score": 90}], NOW, ses))
    run(store, lambda s, ses: s.save_matches("r1", "logistics", [{"candidate_id": "c2", "score": 80}], NOW, ses))
    m = store.get_matches("r1")
    assert m["items"] == [{"candidate_id": "c2", "score": 80}] and m["computed_at"] == NOW
    assert m["surfaced"] == ["c1", "c2"]  # everyone ever matched (the talent-pool report's "resurfaced")


def test_one_reengagement_per_requisition_and_candidate(store):
    doc = {"_id": "reg_1", "requisition_id": "r1", "candidate_id": "c1", "division": "logistics", "status": "pending"}
    run(store, lambda s, ses: s.insert_reengagement(doc, ses))
    with pytest.raises(DuplicateKeyError):
        run(store, lambda s, ses: s.insert_reengagement({**doc, "_id": "reg_2"}, ses))
    run(store, lambda s, ses: s.insert_reengagement({**doc, "_id": "reg_3", "requisition_id": "r2"}, ses))
    assert store.find_reengagement("r1", "c1")["_id"] == "reg_1"
    assert store.find_reengagement("r1", "c9") is None


def test_answer_is_compare_and_set(store):
    doc = {"_id": "reg_1", "requisition_id": "r1", "candidate_id": "c1", "division": "d", "status": "pending"}
    run(store, lambda s, ses: s.insert_reengagement(doc, ses))
    first = run(store, lambda s, ses: s.answer_reengagement("reg_1", {"status": "accepted",
                                                                      "application_id": "app_x"}, ses))
    assert first["status"] == "accepted" and first["application_id"] == "app_x"
    second = run(store, lambda s, ses: s.answer_reengagement("reg_1", {"status": "declined"}, ses))
    assert second is None
    assert store.get_reengagement("reg_1")["status"] == "accepted"


def test_inbox_makes_a_redelivered_event_a_no_op(store):
    run(store, lambda s, ses: s.save_pool_entry(pool_entry("c1", ["x"]), ses), event_id="evt_1")
    with pytest.raises(AlreadyHandled):
        run(store, lambda s, ses: s.remove_from_pool("c1", ses), event_id="evt_1")
    assert store.get_pool_entry("c1") is not None


def test_failed_unit_of_work_writes_nothing(store):
    def work(s, ses):
        s.save_pool_entry(pool_entry("c1", ["x"]), ses)
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        run(store, work)
    assert store.get_pool_entry("c1") is None


def test_a_recomputed_list_is_written_only_when_it_changed_and_never_over_a_newer_one(store):
    later = NOW + timedelta(minutes=1)
    run(store, lambda s, ses: s.save_matches("r1", "logistics", [{"candidate_id": "c1", "score": 90}], NOW, ses,
                                             open=True, refresh_at=NOW))
    # the same items: not rewritten (surfaced and computed_at stay), only when it falls due moves
    assert not store.replace_matches("r1", [{"candidate_id": "c1", "score": 90}], later, refresh_at=later)
    assert (store.get_matches("r1")["computed_at"], store.get_matches("r1")["refresh_at"]) == (NOW, later)
    assert store.replace_matches("r1", [{"candidate_id": "c2", "score": 95}], later, refresh_at=later)
    assert store.get_matches("r1")["surfaced"] == ["c1", "c2"]
    # a slower recompute, started before the one stored, does not replace it
    assert not store.replace_matches("r1", [{"candidate_id": "c3", "score": 99}], NOW, refresh_at=later)
    assert [m["candidate_id"] for m in store.get_matches("r1")["items"]] == ["c2"]
    assert not store.replace_matches("r_unknown", [{"candidate_id": "c1", "score": 90}], later)
    assert store.due_match_lists(later) == ["r1"] and store.due_match_lists(NOW) == []
