"""InterviewFeedbackStore against a real MongoDB (the session's test infrastructure)."""

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.interview_feedback import domain
from services.interview_feedback.store import InterviewFeedbackStore
from shared.contracts.events import ScorecardSubmitted
from shared.errors import Conflict
from shared.ids import new_id

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(make_store):
    return make_store(InterviewFeedbackStore)


def interview_doc(application_id="app_1", **kw):
    doc = {"_id": new_id("int"), "application_id": application_id, "live_for": application_id, "division": "retail",
           "interviewers": ["ann", "bob"], "competencies": ["Python", "SQL"], "scheduled_at": NOW,
           "status": "scheduled", "submitted": [], "created_at": NOW, "completed_at": None}
    doc.update(kw)
    return doc


def card_doc(interview_id, interviewer, submitted_at=NOW, **kw):
    doc = {"_id": new_id("scd"), "interview_id": interview_id, "interviewer": interviewer,
           "ratings": {"Python": 4, "SQL": 3}, "recommendation": "yes", "highlights": [], "notes": "",
           "submitted_at": submitted_at}
    doc.update(kw)
    return doc


def write(store, fn):
    result, _ = store.transact(lambda uow: fn(uow.store, uow.session))
    return result


def test_interview_round_trip_keeps_utc_times(store):
    doc = interview_doc()
    write(store, lambda s, ss: s.insert_interview(doc, ss))
    got = store.get_interview(doc["_id"])
    assert got["scheduled_at"] == NOW and got["scheduled_at"].tzinfo is not None
    assert store.interview_for_application("app_1")["_id"] == doc["_id"]
    assert store.get_interview("int_nope") is None and store.interview_for_application("app_x") is None


def test_one_live_interview_per_application_and_a_cancelled_one_frees_it(store):
    first = interview_doc("app_1", sequence=0)
    write(store, lambda s, ss: s.insert_interview(first, ss))
    with pytest.raises(DuplicateKeyError):
        write(store, lambda s, ss: s.insert_interview(interview_doc("app_1"), ss))
    assert store.db.interviews.count_documents({"application_id": "app_1"}) == 1
    write(store, lambda s, ss: s.insert_interview(interview_doc("app_2"), ss))

    gone = domain.cancelled(first, "moved", "rita", NOW)
    assert store.replace_interview(first, gone) is True
    assert store.replace_interview(first, gone) is False  # written from a stale read: refused
    assert "live_for" not in store.get_interview(first["_id"])
    assert store.interview_for_application("app_1")["status"] == "cancelled"  # the latest, when none is live
    second = interview_doc("app_1")
    write(store, lambda s, ss: s.insert_interview(second, ss))
    assert store.interview_for_application("app_1")["_id"] == second["_id"]


def test_panel_interviews_finds_those_that_may_overlap(store):
    ann = interview_doc("app_1", interviewers=["ann"], duration_minutes=60)
    late = interview_doc("app_2", interviewers=["ann"], scheduled_at=NOW + timedelta(hours=9))
    other = interview_doc("app_3", interviewers=["cy"])
    for doc in (ann, late, other):
        write(store, lambda s, ss, d=doc: s.insert_interview(d, ss))
    found = store.panel_interviews(["ann", "bob"], NOW + timedelta(minutes=30), NOW + timedelta(minutes=90))
    assert [d["_id"] for d in found] == [ann["_id"]]
    assert domain.clashes(["bob", "ann"], NOW + timedelta(minutes=30), 60, found)[0]["interviewer"] == "ann"
    assert domain.clashes(["bob", "ann"], NOW + timedelta(minutes=60), 60, found) == []  # back to back


def test_mark_submitted_once_per_interviewer_and_complete(store):
    doc = interview_doc()
    write(store, lambda s, ss: s.insert_interview(doc, ss))
    first = write(store, lambda s, ss: s.mark_submitted(doc["_id"], "ann", ss))
    assert first["submitted"] == ["ann"]
    assert not domain.panel_complete(first["interviewers"], first["submitted"])
    assert write(store, lambda s, ss: s.mark_submitted(doc["_id"], "ann", ss)) is None
    second = write(store, lambda s, ss: s.mark_submitted(doc["_id"], "bob", ss))
    assert second["submitted"] == ["ann", "bob"]
    assert domain.panel_complete(second["interviewers"], second["submitted"])
    assert write(store, lambda s, ss: s.mark_submitted("int_nope", "bob", ss)) is None
    write(store, lambda s, ss: s.complete_interview(doc["_id"], NOW, ss))
    got = store.get_interview(doc["_id"])
    assert got["status"] == "complete" and got["completed_at"] == NOW


def test_one_scorecard_per_interviewer_and_interview(store):
    write(store, lambda s, ss: s.insert_scorecard(card_doc("int_1", "ann"), ss))
    with pytest.raises(DuplicateKeyError):
        write(store, lambda s, ss: s.insert_scorecard(card_doc("int_1", "ann"), ss))
    write(store, lambda s, ss: s.insert_scorecard(card_doc("int_1", "bob", NOW - timedelta(minutes=1)), ss))
    write(store, lambda s, ss: s.insert_scorecard(card_doc("int_2", "ann"), ss))
    assert [c["interviewer"] for c in store.scorecards("int_1")] == ["bob", "ann"]  # by submission time
    assert [c["interviewer"] for c in store.scorecards("int_2")] == ["ann"]
    assert store.scorecards("int_3") == []


def test_failed_unit_of_work_leaves_nothing_behind(store):
    doc = interview_doc()
    write(store, lambda s, ss: s.insert_interview(doc, ss))

    def work(uow):
        uow.store.mark_submitted(doc["_id"], "ann", uow.session)
        uow.store.insert_scorecard(card_doc(doc["_id"], "ann"), uow.session)
        uow.emit("scorecard_submitted", ScorecardSubmitted(
            interview_id=doc["_id"], application_id="app_1", division="retail", interviewer="ann",
            ratings={"Python": 4, "SQL": 3}, recommendation="yes", submitted_at=NOW))
        raise Conflict("changed my mind")

    with pytest.raises(Conflict):
        store.transact(work)
    assert store.get_interview(doc["_id"])["submitted"] == []
    assert store.scorecards(doc["_id"]) == []
    assert store.outbox_backlog() == 0


def test_unit_of_work_commits_state_and_event_together(store):
    doc = interview_doc()
    write(store, lambda s, ss: s.insert_interview(doc, ss))

    def work(uow):
        uow.store.mark_submitted(doc["_id"], "ann", uow.session)
        uow.store.insert_scorecard(card_doc(doc["_id"], "ann"), uow.session)
        uow.emit("scorecard_submitted", ScorecardSubmitted(
            interview_id=doc["_id"], application_id="app_1", division="retail", interviewer="ann",
            ratings={"Python": 4, "SQL": 3}, recommendation="yes", submitted_at=NOW))

    _, emitted = store.transact(work)
    assert [e.type for e in emitted] == ["scorecard_submitted"]
    assert store.outbox_backlog() == 1
    assert len(store.scorecards(doc["_id"])) == 1


def test_one_decision_per_application(store):
    decision = {"_id": "app_1", "division": "retail", "outcome": "pass", "decided_at": NOW}
    write(store, lambda s, ss: s.insert_decision(dict(decision), ss))
    with pytest.raises(DuplicateKeyError):
        write(store, lambda s, ss: s.insert_decision(dict(decision, outcome="fail"), ss))
    assert store.get_decision("app_1")["outcome"] == "pass"
    assert store.get_decision("app_2") is None


def approval_docs(application_id="app_1"):
    steps = domain.approval_steps([new_id("apr"), new_id("apr")], NOW, 3600)
    return [{"_id": s["id"], "application_id": application_id, "division": "retail",
             **{k: v for k, v in s.items() if k != "id"}} for s in steps]


def test_approvals_listed_by_step_and_unique_per_step(store):
    docs = approval_docs()
    write(store, lambda s, ss: s.insert_approvals(list(reversed(docs)), ss))
    assert [d["step"] for d in store.approvals("app_1")] == [1, 2]
    assert store.get_approval(docs[0]["_id"])["role"] == "hr"
    assert store.approvals("app_2") == []
    again = approval_docs()
    with pytest.raises(BulkWriteError):
        write(store, lambda s, ss: s.insert_approvals(again, ss))
    write(store, lambda s, ss: s.insert_approvals([], ss))
    assert store.db.approvals.count_documents({}) == 2


def test_update_pending_approval_only_once_and_rebase(store):
    docs = approval_docs()
    write(store, lambda s, ss: s.insert_approvals(docs, ss))
    decided = {"id": docs[0]["_id"], "status": "approved", "decided_at": NOW, "decided_by": "helen", "note": "ok"}
    assert write(store, lambda s, ss: s.update_pending_approval(decided, ss)) is True
    assert write(store, lambda s, ss: s.update_pending_approval(dict(decided, status="rejected"), ss)) is False
    got = store.get_approval(docs[0]["_id"])
    assert (got["status"], got["decided_by"], got["note"], got["decided_at"]) == ("approved", "helen", "ok", NOW)

    rebased = NOW + timedelta(hours=5)
    write(store, lambda s, ss: s.set_expected_by(docs[1]["_id"], rebased, ss))
    assert store.get_approval(docs[1]["_id"])["expected_by"] == rebased
    # a decided step keeps its expectation
    write(store, lambda s, ss: s.set_expected_by(docs[0]["_id"], rebased, ss))
    assert store.get_approval(docs[0]["_id"])["expected_by"] == NOW + timedelta(hours=1)


def test_known_division_from_decision_or_interview(store):
    assert store.known_division("app_1") is None
    write(store, lambda s, ss: s.insert_interview(interview_doc("app_1", division="logistics"), ss))
    assert store.known_division("app_1") == "logistics"
    write(store, lambda s, ss: s.insert_decision({"_id": "app_2", "division": "retail", "decided_at": NOW}, ss))
    assert store.known_division("app_2") == "retail"


def test_indexes_declared(store):
    interviews = store.db.interviews.index_information()
    assert any(i.get("unique") and i.get("sparse") and i["key"] == [("live_for", 1)] for i in interviews.values())
    cards = store.db.scorecards.index_information()
    assert any(i.get("unique") and i["key"] == [("interview_id", 1), ("interviewer", 1)] for i in cards.values())


def test_report_scorecards_by_division_and_submission_time(store):
    first = interview_doc("app_r1")
    other = interview_doc("app_r2", division="logistics")
    write(store, lambda s, ses: s.insert_interview(first, ses))
    write(store, lambda s, ses: s.insert_interview(other, ses))
    early = card_doc(first["_id"], "ann", NOW + timedelta(hours=1), division="retail", ratings={"Python": 5, "SQL": 3})
    late = card_doc(first["_id"], "bob", NOW + timedelta(days=2), division="retail", ratings={"Python": 3, "SQL": 3})
    elsewhere = card_doc(other["_id"], "ann", NOW, division="logistics")
    for card in (early, late, elsewhere):
        write(store, lambda s, ses, card=card: s.insert_scorecard(card, ses))
    in_day = {"$gte": NOW, "$lt": NOW + timedelta(days=1)}
    cards = store.report_scorecards(["retail"], in_day)
    assert [c["_id"] for c in cards] == [early["_id"]] and "notes" not in cards[0]
    assert len(store.report_scorecards(None, None)) == 3
    interviews, by_interview = store.interviews_with_cards([first["_id"]])
    assert interviews[first["_id"]]["scheduled_at"] == NOW
    assert {c["interviewer"] for c in by_interview[first["_id"]]} == {"ann", "bob"}  # the flag's whole interview
    [row] = domain.interviewer_report(cards, interviews, by_interview)
    assert row == {"interviewer": "ann", "scorecards": 1, "mean_rating": 4.0, "leniency_z": None,
                   "discrepancy_scorecards": 1, "discrepancy_rate": 1.0, "median_submission_delay_hours": 1.0}


def test_erasure_drops_the_candidates_words_about_times_and_the_cancellation_reason(store):
    asked = interview_doc("app_9", other_times_requested=[{"note": "after my shift at Acme", "requested_at": NOW}],
                          cancellation={"reason": "Mei is ill", "by_rejection": False, "cancelled_by": "rita",
                                        "cancelled_at": NOW}, status="cancelled")
    kept = interview_doc("app_8", other_times_requested=[{"note": "mornings", "requested_at": NOW}],
                         cancellation=None)
    write(store, lambda s, ss: s.insert_interview(asked, ss))
    write(store, lambda s, ss: s.insert_interview(kept, ss))
    write(store, lambda s, ss: s.anonymise(["app_9"], ss))
    gone = store.get_interview(asked["_id"])
    assert gone["other_times_requested"] == [] and gone["cancellation"]["reason"] == ""
    assert gone["cancellation"]["cancelled_by"] == "rita"
    assert store.get_interview(kept["_id"])["other_times_requested"][0]["note"] == "mornings"
