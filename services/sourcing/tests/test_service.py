"""The service shell against a real MongoDB: RPC methods and event handlers called directly (nameko's
worker_factory), with the in-process bus (tests/support/shell.py) that runs the real unit of work and keeps
what it emitted. RPCs are called as their declarations say (shared/contracts/sourcing.py): keyword arguments,
roles and answers checked by the declaration."""

from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from services.sourcing import service
from services.sourcing.service import NotYetKnown, SourcingService
from services.sourcing.store import SourcingStore
from shared.config import Settings
from shared.contracts import sourcing as contract
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.crypto import open_sealed
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import utcnow
from tests.support.divisions import register
from tests.support.shell import InProcessBus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HR = Caller(key_id="k1", name="helen", role="hr", divisions=("retail",))
RECRUITER = Caller(key_id="k2", name="rita", role="recruiter", divisions=("retail",))
OTHER_HR = Caller(key_id="k3", name="olaf", role="hr", divisions=("logistics",))
ADMIN = Caller(key_id="k4", name="ada", role="admin")
SYSTEM = Caller.system("talent_pool")
INTERVIEWER = Caller(key_id="k5", name="ivan", role="interviewer", divisions=("retail",))


@pytest.fixture
def svc(make_store):
    store = register(make_store(SourcingStore))
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, HR), settings=Settings())


def as_(svc, caller):
    svc.bus.caller = caller
    return svc


def sent(svc, event_type):
    """The payloads of the events of this type the service emitted (each checked against its contract)."""
    return [e.payload for e in svc.bus.of_type(event_type)]


REQ = {"title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
       "required_skills": ["Coffee"], "skills": ["Latte Art"], "min_years": 1,
       "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


def application(req_id, email="ann@example.com", **kw):
    cand = {"name": "Ann", "email": email, "skills": ["coffee"], "years_experience": 2}
    cand.update(kw.pop("candidate", {}))
    return {"requisition_id": req_id, "source": "referral", "candidate": cand, **kw}


def deliver(svc, producer, event_type, payload, event_id=None):
    env = EventEnvelope(type=event_type, producer=producer, payload=payload,
                        **({"event_id": event_id} if event_id else {}))
    model = EVENT_MODELS[(producer, event_type)].model_validate(payload)
    handler = {
        "application_screened": svc.on_application_screened,
        "interview_scheduled": svc.on_interview_scheduled,
        "interview_completed": svc.on_interview_completed,
        "decision_recorded": svc.on_decision_recorded,
        "approval_step_decided": svc.on_approval_step_decided,
    }[event_type]
    handler(model, env)
    return env


def screened(app_id, passed=True, override=None):
    return {"application_id": app_id, "requisition_id": "r", "division": "retail",
            "result": {"passed": passed, "score": 80 if passed else 30, "match": 50, "matched_skills": ["Coffee"],
                       "missing_skills": [], "reasons": ["Has all 1 required skill: Coffee."],
                       "override": override}}


SUMMARY = {"interview_id": "int_1", "average": 4.5, "by_competency": {"coffee": 4.5},
           "recommendations": {"yes": 2}, "discrepancy": {"flagged": False, "competencies": [], "spread": {}},
           "highlights": ["great latte"], "completed_at": "2026-01-01T00:00:00Z"}


def test_requisition_lifecycle_and_scope(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    assert req["id"].startswith("req_") and req["status"] == "open" and req["closed_at"] is None
    assert req["knockout_questions"] == [{"id": "permit", "question": "Work permit?", "required_answer": True}]
    assert req["created_at"].endswith("Z")
    assert sent(svc, "requisition_opened")[0]["requisition"]["id"] == req["id"]
    with pytest.raises(Forbidden):
        as_(svc, OTHER_HR).create_requisition(**REQ)
    with pytest.raises(Forbidden):
        as_(svc, RECRUITER).create_requisition(**REQ)
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).create_requisition(**{**REQ, "salary": 1})
    assert exc.value.field == "salary"

    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).get_requisition(requisition_id=req["id"])
    assert as_(svc, OTHER_HR).list_requisitions()["items"] == []
    assert as_(svc, OTHER_HR).list_requisitions(division="retail")["items"] == []
    assert [r["id"] for r in as_(svc, ADMIN).list_requisitions(division="retail", urgent="false")["items"]] == [
        req["id"]]
    assert as_(svc, HR).list_requisitions(status="closed")["items"] == []

    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).close_requisition(requisition_id=req["id"], **{"reason": "filled"})
    closed = as_(svc, HR).close_requisition(requisition_id=req["id"], **{"reason": "filled"})
    assert closed["status"] == "closed" and closed["close_reason"] == "filled" and closed["closed_at"]
    with pytest.raises(Conflict) as exc:
        svc.close_requisition(requisition_id=req["id"], **{"reason": "cancelled"})
    assert exc.value.code == "requisition_closed"
    assert len(sent(svc, "requisition_closed")) == 1


def test_submit_dedups_candidates_and_refuses_duplicates(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    req2 = svc.create_requisition(**{**REQ, "title": "Shift lead"})
    first = as_(svc, RECRUITER).submit_application(**application(req["id"], "Ann.Lee@Example.com",
                                                                      answers={"permit": True}))
    assert first["status"] == "received" and first["id"].startswith("app_")
    assert first["candidate_id"].startswith("cand_")
    second = svc.submit_application(**application(req2["id"], " ann.lee@EXAMPLE.com",
                                                     candidate={"name": "Ann Lee", "phone": "+1 555 0100"}))
    assert second["candidate_id"] == first["candidate_id"]

    cand = svc.get_candidate(candidate_id=first["candidate_id"])
    assert cand["name"] == "Ann Lee" and cand["phone"] == "+1 555 0100"
    assert cand["applications"] == [first["id"], second["id"]]

    with pytest.raises(Conflict) as exc:
        svc.submit_application(**application(req["id"], "ANN.LEE@example.com", candidate={"name": "Ann L."}))
    assert exc.value.code == "duplicate_application" and first["id"] in exc.value.message
    # No transaction: the division's profile is written before the unique index refuses the application, so
    # the details of the refused duplicate (the same person's, from the same division) are its latest.
    assert svc.store.db.applications.count_documents({}) == 2 and svc.store.db.candidates.count_documents({}) == 1
    assert svc.get_candidate(candidate_id=first["candidate_id"])["name"] == "Ann L."

    received = sent(svc, "application_received")
    assert len(received) == 2 and received[0]["answers"] == {"permit": True}
    assert open_sealed(received[0]["candidate"]["email"]) == "Ann.Lee@example.com"  # sealed on the bus
    changes = sent(svc, "application_status_changed")
    assert [(c["previous_status"], c["status"]) for c in changes] == [(None, "received")] * 2
    assert "email" not in changes[0]

    view = svc.get_application(application_id=first["id"])
    assert view["status"] == "received" and view["screening"] is None and view["confirmation"] is None
    assert view["timeline"][0]["detail"] == "Applied via referral"
    assert view["requisition_title"] == "Barista" and view["tier"] == "basic"


def test_submit_checks_requisition_and_answers(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    with pytest.raises(NotFound):
        as_(svc, RECRUITER).submit_application(**application("req_nope"))
    with pytest.raises(NotFound):
        as_(svc, Caller(key_id="x", name="x", role="recruiter", divisions=("hq",))).submit_application(
            **application(req["id"]))
    with pytest.raises(Invalid) as exc:
        as_(svc, RECRUITER).submit_application(**application(req["id"], answers={"permit": True, "car": True}))
    assert exc.value.field == "answers.car"
    with pytest.raises(Forbidden):
        as_(svc, Caller(key_id="i", name="ivan", role="interviewer", divisions=("retail",))).submit_application(
            **application(req["id"]))
    as_(svc, HR).close_requisition(requisition_id=req["id"], **{"reason": "cancelled"})
    with pytest.raises(Conflict) as exc:
        as_(svc, RECRUITER).submit_application(**application(req["id"]))
    assert exc.value.code == "requisition_closed"
    assert svc.store.db.candidates.count_documents({}) == 0


def test_candidate_is_visible_only_through_visible_applications(svc):
    retail = as_(svc, ADMIN).create_requisition(**REQ)
    logistics = svc.create_requisition(**{**REQ, "division": "logistics"})
    a = svc.submit_application(**application(retail["id"]))
    b = svc.submit_application(**application(logistics["id"]))
    assert as_(svc, OTHER_HR).get_candidate(candidate_id=a["candidate_id"])["applications"] == [b["id"]]
    assert as_(svc, ADMIN).get_candidate(candidate_id=a["candidate_id"])["applications"] == [a["id"], b["id"]]
    with pytest.raises(NotFound):
        as_(svc, Caller(key_id="x", name="x", role="hr", divisions=("hq",))).get_candidate(
            candidate_id=a["candidate_id"])
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).get_application(application_id=a["id"])
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).list_applications(requisition_id=retail["id"])


def test_what_one_division_records_never_changes_what_another_sees(svc):
    """docs/decisions/002: one candidate across divisions, one profile per division."""
    retail = as_(svc, ADMIN).create_requisition(**REQ)
    logistics = svc.create_requisition(**{**REQ, "division": "logistics"})
    a = as_(svc, RECRUITER).submit_application(**application(retail["id"], "Ann.Lee@Example.com", candidate={
        "name": "Ann Lee", "phone": "+1 555 0100", "skills": ["coffee", "latte art"], "location": "Lyon"}))
    seen_by_retail = as_(svc, HR).get_candidate(candidate_id=a["candidate_id"])
    b = as_(svc, OTHER_HR).submit_application(**application(logistics["id"], "ANN.LEE@example.COM", candidate={
        "name": "Mallory", "phone": None, "skills": ["driving"], "location": "Mars"}))
    assert b["candidate_id"] == a["candidate_id"] and svc.store.db.candidates.count_documents({}) == 1
    assert as_(svc, HR).get_candidate(candidate_id=a["candidate_id"]) == seen_by_retail
    assert (seen_by_retail["name"], seen_by_retail["phone"], seen_by_retail["location"]) == (
        "Ann Lee", "+1 555 0100", "Lyon")
    theirs = as_(svc, OTHER_HR).get_candidate(candidate_id=a["candidate_id"])
    assert (theirs["name"], theirs["phone"], theirs["skills"], theirs["location"], theirs["applications"]) == (
        "Mallory", None, ["driving"], "Mars", [b["id"]])
    assert as_(svc, HR).get_application(application_id=a["id"])["candidate_name"] == "Ann Lee"
    assert as_(svc, HR).list_applications(requisition_id=retail["id"])["items"][0]["candidate_name"] == "Ann Lee"
    assert as_(svc, OTHER_HR).get_application(application_id=b["id"])["candidate_name"] == "Mallory"
    # each event carries its own division's profile
    snapshots = [e["candidate"] for e in sent(svc, "application_received")]
    assert [(c["name"], c["location"]) for c in snapshots] == [("Ann Lee", "Lyon"), ("Mallory", "Mars")]
    # the admin (every division) sees the latest profile and the export holds both
    assert as_(svc, ADMIN).get_candidate(candidate_id=a["candidate_id"])["name"] == "Mallory"
    export = svc.export_candidate(candidate_id=a["candidate_id"])
    assert {p["division"]: (p["name"], p["phone"]) for p in export["profiles"]} == {
        "retail": ("Ann Lee", "+1 555 0100"), "logistics": ("Mallory", None)}


def test_a_fast_track_into_a_new_division_copies_the_profile_it_was_pooled_with(svc):
    retail = as_(svc, ADMIN).create_requisition(**REQ)
    logistics = svc.create_requisition(**{**REQ, "division": "logistics"})
    old = svc.submit_application(**application(retail["id"], candidate={"name": "Ann Lee", "phone": "+1 555 0100"}))
    fast = as_(svc, SYSTEM).submit_fast_track_application(requisition_id=logistics["id"],
                                                          candidate_id=old["candidate_id"], reengagement_id="re_1")
    assert svc.store.get_profile(old["candidate_id"], "logistics")["name"] == "Ann Lee"
    assert open_sealed(sent(svc, "application_received")[-1]["candidate"]["phone"]) == "+1 555 0100"
    # from then on the two divisions' records are separate
    other = as_(svc, ADMIN).create_requisition(**{**REQ, "title": "Again"})
    as_(svc, RECRUITER).submit_application(**application(other["id"], candidate={"name": "Ann Renamed"}))
    assert as_(svc, OTHER_HR).get_candidate(candidate_id=old["candidate_id"])["name"] == "Ann Lee"
    assert as_(svc, OTHER_HR).get_application(application_id=fast["id"])["candidate_name"] == "Ann Lee"


def test_an_event_about_an_erased_application_is_acked_and_changes_nothing(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    app = svc.submit_application(**application(req["id"]))
    deliver(svc, "screening", "application_screened", screened(app["id"]))
    deliver(svc, "interview_feedback", "interview_scheduled", {
        "interview_id": "int_1", "application_id": app["id"], "division": "retail", "interviewers": ["ivan"],
        "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"})

    def erase(uow):  # what _erase does in its transaction, without the broker's dead letters
        uow.store.erase_candidate_records(app["candidate_id"], "era_1", utcnow(), uow.session)
        uow.store.mark_erased(app["candidate_id"], "era_1", [app["id"]], session=uow.session)

    svc.store.transact(erase)
    before = svc.store.get_application(app["id"])
    assert before["erased"] is True
    svc.bus.emitted.clear()
    env = deliver(svc, "interview_feedback", "interview_completed",
                  {"application_id": app["id"], "division": "retail", "summary": SUMMARY})
    # acked (no error: not retried, not dead-lettered) and recorded as handled; no highlight, no status change,
    # nothing announced
    after = svc.store.get_application(app["id"])
    assert after["inbox"][-1] == env.event_id and svc.bus.emitted == []
    assert state_of(after) == state_of(before)
    with pytest.raises(AlreadyHandled):  # a redelivery: the same event, seen on the document
        deliver(svc, "interview_feedback", "interview_completed",
                {"application_id": app["id"], "division": "retail", "summary": SUMMARY}, event_id=env.event_id)
    assert svc.store.get_application(app["id"]) == after


def test_list_applications_pages(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    ids = [svc.submit_application(**application(req["id"], f"c{i}@example.com"))["id"] for i in range(5)]
    page = svc.list_applications(requisition_id=req["id"], limit=2)
    got = [a["id"] for a in page["items"]]
    while page["next_cursor"]:
        page = svc.list_applications(requisition_id=req["id"], limit=2, cursor=page["next_cursor"])
        got += [a["id"] for a in page["items"]]
    assert got == ids
    assert svc.list_applications(requisition_id=req["id"], status="shortlisted")["items"] == []
    with pytest.raises(Invalid):
        svc.list_applications(requisition_id=req["id"], status="nonsense")


def test_full_path_from_screening_to_hired(svc):
    req = as_(svc, HR).create_requisition(**{**REQ, "tier": "core"})
    app = svc.submit_application(**application(req["id"], talent_pool_consent=True))
    app_id = app["id"]
    env = deliver(svc, "screening", "application_screened", screened(app_id))
    with pytest.raises(AlreadyHandled):  # a redelivered event changes nothing
        svc.on_application_screened(EVENT_MODELS[("screening", "application_screened")].model_validate(
            env.payload), env)
    deliver(svc, "interview_feedback", "interview_scheduled", {
        "interview_id": "int_1", "application_id": app_id, "division": "retail", "interviewers": ["ivan"],
        "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"})
    deliver(svc, "interview_feedback", "interview_completed",
            {"application_id": app_id, "division": "retail", "summary": SUMMARY})
    deliver(svc, "interview_feedback", "decision_recorded", {
        "application_id": app_id, "division": "retail", "tier": "core", "next_status": "awaiting_approval",
        "decision": {"outcome": "pass", "decided_by": "helen", "decided_at": "2026-01-03T00:00:00Z"}})
    step = {"id": "ap_1", "step": 1, "role": "hr", "status": "approved", "expected_by": "2026-01-04T00:00:00Z"}
    deliver(svc, "interview_feedback", "approval_step_decided",
            {"application_id": app_id, "division": "retail", "step": step, "chain_status": "pending"})
    assert svc.get_application(application_id=app_id)["status"] == "awaiting_approval"
    with pytest.raises(Conflict) as exc:
        svc.record_confirmation(application_id=app_id, **{"result": "confirmed"})
    assert exc.value.code == "invalid_status"
    deliver(svc, "interview_feedback", "approval_step_decided",
            {"application_id": app_id, "division": "retail", "step": {**step, "step": 2, "role": "admin"},
             "chain_status": "approved_all"})

    view = as_(svc, RECRUITER).record_confirmation(application_id=app_id, **{"result": "confirmed", "note": "ok"})
    assert view["confirmation"]["result"] == "confirmed" and view["confirmation"]["by"] == "rita"
    assert view["timeline"][-1]["status"] == "offered"
    assert view["timeline"][-1]["detail"] == "HR phone confirmation: confirmed"
    assert sent(svc, "offer_confirmation_recorded")[0]["result"] == "confirmed"

    with pytest.raises(Conflict) as exc:
        as_(svc, HR).record_outcome(application_id=app_id, **{"outcome": "hired"})
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Forbidden):
        as_(svc, HR).candidate_response(application_id=app_id, **{"response": "accept"})
    assert as_(svc, SYSTEM).candidate_response(application_id=app_id, **{"response": "accept"})[
        "status"] == "accepted"
    with pytest.raises(Conflict) as exc:
        svc.candidate_response(application_id=app_id, **{"response": "decline"})
    assert exc.value.code == "invalid_status"
    final = as_(svc, HR).record_outcome(application_id=app_id, **{"outcome": "hired"})
    assert final["status"] == "hired"
    with pytest.raises(Conflict):
        svc.record_outcome(application_id=app_id, **{"outcome": "withdrawn"})

    statuses = [e["status"] for e in final["timeline"]]
    assert statuses == ["received", "shortlisted", "interviewing", "interviewed", "awaiting_approval", "offered",
                        "offered", "accepted", "hired"]
    assert final["interview"]["average"] == 4.5 and final["decision"]["outcome"] == "pass"
    assert final["screening"]["passed"] is True
    changes = [(c["previous_status"], c["status"]) for c in sent(svc, "application_status_changed")]
    assert changes == [(None, "received"), ("received", "shortlisted"), ("shortlisted", "interviewing"),
                       ("interviewing", "interviewed"), ("interviewed", "awaiting_approval"),
                       ("awaiting_approval", "offered"), ("offered", "accepted"), ("accepted", "hired")]
    last = sent(svc, "application_status_changed")[-1]
    assert last["interview"]["interview_id"] == "int_1" and last["decision"]["decided_by"] == "helen"


def test_screening_events_out_of_order_and_overrides(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    with pytest.raises(NotYetKnown):  # an application sourcing has not got yet: retried, not dropped
        deliver(svc, "screening", "application_screened", screened("app_unknown"))
    assert svc.store.db.applications.count_documents({}) == 0
    app_id = svc.submit_application(**application(req["id"]))["id"]
    deliver(svc, "screening", "application_screened", screened(app_id, passed=False))
    assert svc.get_application(application_id=app_id)["status"] == "screened_out"
    override = {"by": "rita", "reason": "referral", "at": "2026-01-05T00:00:00Z"}
    deliver(svc, "screening", "application_screened", screened(app_id, passed=True, override=override))
    view = svc.get_application(application_id=app_id)
    assert view["status"] == "shortlisted" and view["screening"]["override"]["by"] == "rita"
    assert view["timeline"][-1]["detail"] == "Screening overridden by rita: passed (referral)"
    # a stale machine verdict neither replaces the override nor moves the status
    deliver(svc, "screening", "application_screened", screened(app_id, passed=False))
    view = svc.get_application(application_id=app_id)
    assert view["status"] == "shortlisted" and view["screening"]["override"] is not None
    # completion before scheduling: retry
    with pytest.raises(NotYetKnown):
        deliver(svc, "interview_feedback", "interview_completed",
                {"application_id": app_id, "division": "retail", "summary": SUMMARY})
    assert svc.get_application(application_id=app_id)["interview"] is None


def test_fast_track_with_and_without_reused_interview(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    old = svc.submit_application(**application(req["id"], talent_pool_consent=True))
    deliver(svc, "screening", "application_screened", screened(old["id"]))
    deliver(svc, "interview_feedback", "interview_scheduled", {
        "interview_id": "int_1", "application_id": old["id"], "division": "retail", "interviewers": ["ivan"],
        "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"})
    deliver(svc, "interview_feedback", "interview_completed",
            {"application_id": old["id"], "division": "retail", "summary": SUMMARY})
    new_req = svc.create_requisition(**{**REQ, "title": "Head barista", "urgent": True})
    other_req = svc.create_requisition(**{**REQ, "title": "Night barista"})
    svc.bus.emitted.clear()

    with pytest.raises(Forbidden):
        as_(svc, RECRUITER).submit_fast_track_application(requisition_id=new_req["id"],
                                                          candidate_id=old["candidate_id"], reengagement_id="re_1")
    with pytest.raises(NotFound):
        as_(svc, SYSTEM).submit_fast_track_application(requisition_id=new_req["id"], candidate_id="cand_nope",
                                                       reengagement_id="re_1")
    with pytest.raises(Invalid) as exc:
        svc.submit_fast_track_application(requisition_id=new_req["id"], candidate_id=old["candidate_id"],
                                          reengagement_id="re_1", reuse_interview_from="app_nope")
    assert exc.value.field == "reuse_interview_from"

    fast = svc.submit_fast_track_application(requisition_id=new_req["id"], candidate_id=old["candidate_id"],
                                             reengagement_id="re_1", reuse_interview_from=old["id"])
    assert fast["status"] == "interviewed" and fast["candidate_id"] == old["candidate_id"]
    view = svc.get_application(application_id=fast["id"])
    assert view["source"] == "talent_pool" and view["talent_pool_consent"] is True
    assert view["interview"]["reused_from_application_id"] == old["id"] and view["interview"]["average"] == 4.5
    assert [(e["status"], e["detail"]) for e in view["timeline"]] == [
        ("received", "Re-engaged from the talent pool"),
        ("interviewed", f"Prior interview from application {old['id']} reused (fast track)")]
    received = sent(svc, "application_received")[0]
    assert received["fast_track"] == {"reengagement_id": "re_1", "reused_interview_from": old["id"]}
    assert received["source"] == "talent_pool" and open_sealed(received["candidate"]["email"]) == "ann@example.com"
    changes = sent(svc, "application_status_changed")
    assert [(c["previous_status"], c["status"]) for c in changes] == [(None, "received"), ("received", "interviewed")]
    # one transaction, one time: only the sequence tells a projection which of the two came last
    assert [c["sequence"] for c in changes] == [1, 2] and changes[0]["at"] == changes[1]["at"]
    assert changes[0]["interview"] is None and changes[1]["interview"]["reused_from_application_id"] == old["id"]
    assert changes[1]["reengagement_id"] == "re_1"

    with pytest.raises(Conflict) as exc:
        svc.submit_fast_track_application(requisition_id=new_req["id"], candidate_id=old["candidate_id"],
                                          reengagement_id="re_2")
    assert exc.value.code == "duplicate_application" and fast["id"] in exc.value.message

    plain = svc.submit_fast_track_application(requisition_id=other_req["id"], candidate_id=old["candidate_id"],
                                              reengagement_id="re_3")
    assert plain["status"] == "received"
    # screening the fast-tracked, already interviewed application stores the result only
    deliver(svc, "screening", "application_screened", screened(fast["id"], passed=False))
    assert svc.get_application(application_id=fast["id"])["status"] == "interviewed"

    svc.close_requisition(requisition_id=other_req["id"], **{"reason": "cancelled"})
    with pytest.raises(Conflict) as exc:
        svc.submit_fast_track_application(requisition_id=other_req["id"], candidate_id="cand_x",
                                          reengagement_id="re_4")
    assert exc.value.code == "requisition_closed"


def test_withdraw_from_screened_out_and_decision_needs_interviewed(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    app_id = svc.submit_application(**application(req["id"]))["id"]
    deliver(svc, "screening", "application_screened", screened(app_id, passed=False))
    with pytest.raises(NotYetKnown):
        deliver(svc, "interview_feedback", "decision_recorded", {
            "application_id": "app_missing", "division": "retail", "tier": "basic", "next_status": "offered",
            "decision": {"outcome": "pass", "decided_at": "2026-01-03T00:00:00Z"}})
    with pytest.raises(Forbidden):
        as_(svc, RECRUITER).record_outcome(application_id=app_id, **{"outcome": "withdrawn"})
    view = as_(svc, HR).record_outcome(application_id=app_id, **{"outcome": "withdrawn"})
    assert view["status"] == "withdrawn" and view["timeline"][-1]["detail"] == "Withdrawn (recorded by helen)"


# ----------------------------------------------------------------------------------------------------
# reports


def test_reports_from_the_stored_applications_scoped_and_validated(svc):
    req = svc.create_requisition(**REQ)
    first = svc.submit_application(**application(req["id"], talent_pool_consent=True))
    second = svc.submit_application(**application(req["id"], email="bo@example.com", source="web"))
    deliver(svc, "screening", "application_screened", screened(first["id"]))
    deliver(svc, "screening", "application_screened", screened(second["id"], passed=False))

    funnel = svc.funnel_report()
    assert (funnel["division"], funnel["group_by"], funnel["from"], funnel["to"]) == (None, "division", None, None)
    [group] = funnel["groups"]
    reached = {s["status"]: s["reached"] for s in group["stages"]}
    assert group["applications"] == 2 and reached["received"] == 2 and reached["shortlisted"] == 1
    assert group["exits"]["screened_out"] == 1
    [by_req] = svc.funnel_report(requisition_id=req["id"], group_by="requisition")["groups"]
    assert by_req["requisition_id"] == req["id"] and by_req["requisition_title"] == "Barista"
    [tth] = svc.time_to_hire_report(division="retail")["groups"]
    assert (tth["tier"], tth["applications"], tth["offers"], tth["to_offer_days"]) == (
        "basic", 2, 0, {"median": None, "p90": None})
    sources = {i["source"]: i for i in svc.sources_report()["items"]}
    assert sources["referral"]["shortlist_rate"] == 1.0 and sources["web"]["shortlist_rate"] == 0.0

    assert svc.funnel_report(end="2020-01-01")["groups"] == []  # received after the period
    other = as_(svc, OTHER_HR)
    assert other.funnel_report()["groups"] == [] and other.sources_report()["items"] == []
    with pytest.raises(NotFound):
        other.time_to_hire_report(division="retail")
    with pytest.raises(NotFound):
        other.funnel_report(requisition_id=req["id"])
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).funnel_report(group_by="source")
    assert exc.value.field == "group_by"
    with pytest.raises(Invalid) as exc:
        svc.sources_report(start="2026-02-01", end="2026-01-01")
    assert exc.value.field == "to"


# ----------------------------------------------------------------------------------------------------
# the declarations (shared/contracts/sourcing.py): roles, arguments, answers


def test_roles_are_the_declarations_and_a_refusal_changes_nothing(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    app = as_(svc, RECRUITER).submit_application(**application(req["id"]))
    refused = [
        (INTERVIEWER, "create_requisition", REQ),
        (RECRUITER, "close_requisition", {"requisition_id": req["id"], "reason": "filled"}),
        (INTERVIEWER, "submit_application", application(req["id"], "ivy@example.com")),
        (INTERVIEWER, "record_confirmation", {"application_id": app["id"], "result": "confirmed"}),
        (RECRUITER, "record_outcome", {"application_id": app["id"], "outcome": "withdrawn"}),
        (HR, "candidate_response", {"application_id": app["id"], "response": "accept"}),
        (HR, "submit_fast_track_application", {"requisition_id": req["id"], "candidate_id": app["candidate_id"],
                                               "reengagement_id": "re_1"}),
        (INTERVIEWER, "funnel_report", {}),
        (INTERVIEWER, "time_to_hire_report", {}),
        (INTERVIEWER, "sources_report", {}),
        (HR, "erase_candidate", {"candidate_id": app["candidate_id"]}),
        (HR, "get_erasure", {"erasure_id": "era_1"}),
        (HR, "confirm_erasure", {"erasure_id": "era_1", "party": "gateway", "counts": {}}),
        (HR, "export_candidate", {"candidate_id": app["candidate_id"]}),
        (RECRUITER, "get_retention_policy", {"division": "retail"}),
        (HR, "put_retention_policy", {"division": "retail", "rejected_days": 1, "pool_days": 1}),
    ]
    for caller, method, kwargs in refused:
        with pytest.raises(Forbidden) as err:
            getattr(as_(svc, caller), method)(**kwargs)
        assert f"role '{caller.role}' may not do this" in err.value.message, method
    assert svc.store.db.requisitions.count_documents({}) == 1
    assert svc.store.get_application(app["id"])["status"] == "received"
    assert svc.store.db.retention_policies.count_documents({}) == 0
    # reads are staff's (the gateway's routes take the same roles from the declarations): an interviewer's key
    # reads its interviews, not applications
    with pytest.raises(Forbidden):
        as_(svc, INTERVIEWER).get_application(application_id=app["id"])
    assert as_(svc, RECRUITER).get_application(application_id=app["id"])["id"] == app["id"]
    # a service acting on its own passes every role check
    assert as_(svc, SYSTEM).get_retention_policy(division="retail")["division"] == "retail"


def test_arguments_are_parsed_as_declared_and_a_bad_one_is_named(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    app = svc.submit_application(**application(req["id"]))
    bad = [
        (HR, "get_requisition", {"requisition_id": "r" * 101}, "requisition_id"),
        (HR, "get_application", {"application_id": app["id"], "division": "retail"}, "division"),  # unknown
        (HR, "get_candidate", {}, "candidate_id"),
        (HR, "list_requisitions", {"limit": 0}, "limit"),
        (HR, "list_requisitions", {"limit": 501}, "limit"),
        (HR, "list_requisitions", {"limit": "many"}, "limit"),
        (HR, "list_requisitions", {"status": "paused"}, "status"),
        (HR, "list_requisitions", {"urgent": "perhaps"}, "urgent"),
        (HR, "list_applications", {"requisition_id": req["id"], "status": "nonsense"}, "status"),
        (HR, "list_applications", {"requisition_id": req["id"], "cursor": "c" * 201}, "cursor"),
        (HR, "close_requisition", {"requisition_id": req["id"], "reason": "bored"}, "reason"),
        (HR, "close_requisition", {"reason": "filled"}, "requisition_id"),
        (HR, "record_outcome", {"application_id": app["id"], "outcome": "promoted"}, "outcome"),
        (HR, "funnel_report", {"group_by": "source"}, "group_by"),
        (HR, "funnel_report", {"requisition_id": "r" * 101}, "requisition_id"),
        (ADMIN, "confirm_erasure", {"erasure_id": "era_1", "party": "screening", "counts": {}}, "party"),
        (ADMIN, "confirm_erasure", {"erasure_id": "era_1", "party": "gateway", "counts": {"keys": "2"}},
         "counts.keys"),
        (ADMIN, "put_retention_policy", {"division": "retail", "rejected_days": -1, "pool_days": 1},
         "rejected_days"),
        (ADMIN, "submit_fast_track_application", {"requisition_id": req["id"], "candidate_id": app["candidate_id"]},
         "reengagement_id"),
    ]
    for caller, method, kwargs, field in bad:
        with pytest.raises(Invalid) as err:
            getattr(as_(svc, caller), method)(**kwargs)
        assert err.value.field == field, (method, kwargs, err.value.message)
        assert err.value.message.startswith(f"{field}: "), err.value.message
    assert svc.store.get_requisition(req["id"])["status"] == "open"
    assert svc.store.get_application(app["id"])["status"] == "received"
    assert svc.store.db.retention_policies.count_documents({}) == 0
    # the bounds api-v1 gives every list
    assert len(as_(svc, HR).list_requisitions(limit=500)["items"]) == 1


def test_answers_are_the_declared_models(svc):
    req = as_(svc, HR).create_requisition(**REQ)
    assert contract.Requisition.model_validate(req).knockout_questions[0].id == "permit"
    app = as_(svc, RECRUITER).submit_application(**application(req["id"], answers={"permit": True}))
    assert set(app) == set(contract.ApplicationAccepted.model_fields)
    view = svc.get_application(application_id=app["id"])
    assert contract.Application.model_validate(view).candidate_name == "Ann"
    page = svc.list_applications(requisition_id=req["id"])
    assert contract.ApplicationPage.model_validate(page).items[0].candidate_name == "Ann"
    assert contract.RequisitionPage.model_validate(svc.list_requisitions()).items[0].id == req["id"]
    assert contract.Candidate.model_validate(svc.get_candidate(candidate_id=app["candidate_id"])).name == "Ann"
    # a change answers the record, without the name look-up
    changed = as_(svc, HR).record_outcome(application_id=app["id"], outcome="withdrawn")
    assert "candidate_name" not in changed
    assert contract.ApplicationRecord.model_validate(changed).status == "withdrawn"
    # reports echo `from` and `to` by their API names; a division's funnel group names no requisition
    funnel = svc.funnel_report(start="2026-01-01")
    assert funnel["from"].startswith("2026-01-01") and funnel["to"] is None and "from_" not in funnel
    assert contract.FunnelReport.model_validate(funnel).groups[0].division == "retail"
    assert "requisition_id" not in funnel["groups"][0]
    [by_req] = svc.funnel_report(group_by="requisition")["groups"]
    assert isinstance(contract.FunnelReport.model_validate(svc.funnel_report(group_by="requisition")).groups[0],
                      contract.RequisitionFunnelGroup) and by_req["requisition_title"] == "Barista"
    contract.TimeToHireReport.model_validate(svc.time_to_hire_report())
    contract.SourcesReport.model_validate(svc.sources_report())
    export = as_(svc, ADMIN).export_candidate(candidate_id=app["candidate_id"])
    exported = contract.SourcingExport.model_validate(export)
    assert exported.applications[0].answers == {"permit": True} and exported.applications[0].submitted_by == "rita"
    assert "candidate_name" not in export["applications"][0]


def test_an_answer_that_drifts_from_its_declaration_fails_in_the_service(svc, monkeypatch):
    req = as_(svc, HR).create_requisition(**REQ)
    app = svc.submit_application(**application(req["id"]))
    fields = service._application_fields
    monkeypatch.setattr(service, "_application_fields", lambda doc: {**fields(doc), "email": "ann@example.com"})
    with pytest.raises(ValueError, match="email"):
        svc.get_application(application_id=app["id"])
    # a report's rows are the domain's dicts: the declaration checks them on the way out
    rows = service.domain.sources_report
    monkeypatch.setattr(service.domain, "sources_report", lambda apps: [{**r, "names": ["Ann"]} for r in rows(apps)])
    with pytest.raises(ValueError, match="names"):
        svc.sources_report()


def test_retention_policies_per_division(svc):
    default = as_(svc, HR).get_retention_policy(division="retail")
    assert contract.RetentionPolicy.model_validate(default).division == "retail"
    with pytest.raises(Forbidden):
        as_(svc, HR).get_retention_policy(division="logistics")
    put = as_(svc, ADMIN).put_retention_policy(division="retail", rejected_days=30, pool_days=90)
    assert put == {"division": "retail", "rejected_days": 30, "pool_days": 90}
    assert as_(svc, HR).get_retention_policy(division="retail") == put
    assert as_(svc, OTHER_HR).get_retention_policy(division="logistics") == {**default, "division": "logistics"}


BOOKKEEPING_FIELDS = {"_rev", "inbox", "outbox", "outbox_pending", "outbox_lease"}


def test_views_and_exports_never_show_the_write_bookkeeping(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    app = svc.submit_application(**application(req["id"], answers={"permit": True}))
    deliver(svc, "screening", "application_screened", screened(app["id"]))
    stored = svc.store.get_application(app["id"])
    assert {"_rev", "inbox", "outbox"} <= set(stored)  # what the document carries ...
    record = svc.record_outcome(application_id=app["id"], outcome="withdrawn")
    views = [record, svc.get_application(application_id=app["id"]),
             *svc.list_applications(requisition_id=req["id"])["items"],
             *svc.export_candidate(candidate_id=app["candidate_id"])["applications"]]
    for view in views:  # ... and no answer shows
        assert not BOOKKEEPING_FIELDS & set(view), sorted(BOOKKEEPING_FIELDS & set(view))
        assert view["status"] == "withdrawn"
    assert "inbox" not in str(svc.funnel_report()) and "_rev" not in str(svc.funnel_report())


def test_erasure_marks_applications_erased_and_redacts_events_still_on_them(svc, monkeypatch):
    """Events not relayed yet (the broker away) wait on the application: the erasure redacts them there,
    as it did in the outbox collection, and the anonymised application is marked `erased`."""
    monkeypatch.setattr(service, "purge_dead_letters", lambda *args: 0)  # no broker here
    req = as_(svc, ADMIN).create_requisition(**REQ)
    monkeypatch.setattr(svc.store, "clear_relayed", lambda *args: None)  # nothing relayed
    app = svc.submit_application(**application(req["id"], candidate={"name": "Zed Secret", "phone": "+1 555 0199"}))
    held = svc.store.get_application(app["id"])
    assert [e["type"] for e in held["outbox"]] == ["application_received", "application_status_changed"]
    assert "Zed Secret" in str(held["outbox"])
    erasure = as_(svc, ADMIN).erase_candidate(candidate_id=app["candidate_id"])
    assert erasure["services"]["sourcing"]["counts"]["outbox"] >= 1
    after = svc.store.get_application(app["id"])
    assert after["erased"] is True and "Zed Secret" not in str(after)
    assert len(after["outbox"]) == 2 and after["outbox_pending"] is True  # still published (redacted) by the sweep
    assert after["_rev"] > held["_rev"]


def test_a_re_engaged_community_member_applies_as_the_candidate_of_their_email(svc):
    """Issue 18: a talent-community member has no candidate yet; their acceptance names their sign-up and
    brings their details, and the application goes to the candidate of that email (one per person)."""
    req = as_(svc, ADMIN).create_requisition(**REQ)
    member = {"name": "Ana Lima", "email": "Ana@example.org", "skills": ["Coffee"], "years_experience": 0}
    first = as_(svc, SYSTEM).submit_fast_track_application(requisition_id=req["id"], candidate_id="mem_1",
                                                           reengagement_id="re_1", candidate=member)
    assert first["status"] == "received" and first["candidate_id"].startswith("cand_")
    view = svc.get_application(application_id=first["id"])
    assert view["source"] == "talent_pool" and view["talent_pool_consent"] is True
    assert view["candidate_name"] == "Ana Lima"
    # the same person applying on their own later is the same candidate
    other = svc.create_requisition(**{**REQ, "title": "Night barista"})
    again = svc.submit_application(**application(other["id"], candidate={**member, "email": "ana@EXAMPLE.org"}))
    assert again["candidate_id"] == first["candidate_id"]
