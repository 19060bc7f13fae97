"""The scheduling RPCs of the interviews issue in the interview_feedback shell (tests/support/shell.py) against a
real MongoDB: slots and the candidate's pick, reschedule (sequence), cancel and schedule again, clashes,
attendance, a fail at any stage with its cancellation, kits; answers as declared."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.testing import sample
from services.interview_feedback.tests.test_service import ADMIN, ANN, HR, OTHER_HR, REC, Platform
from shared.contracts import interview_feedback as contract
from shared.contracts import sourcing
from shared.contracts.caller import Caller
from shared.errors import Conflict, Invalid, NotFound
from shared.timeutil import iso, parse, utcnow

PORTAL = Caller.system("portal")


def later(hours: float) -> str:
    return iso((utcnow() + timedelta(hours=hours)).replace(microsecond=0))


class Scheduling(Platform):
    """The platform, with sourcing answering the division's record and the kit's requisition."""

    def __init__(self, store):
        super().__init__(store)
        self.divisions = {"retail": {"timezone": "Europe/Berlin",
                                     "meeting_url_template": "https://meet.jit.si/hireloop-{interview_id}"}}
        self.sourcing = _sourcing(self)

    def shell(self, caller: Caller):
        svc = super().shell(caller)
        svc.sourcing = self.sourcing
        return svc


def _sourcing(platform):
    from tests.support.shell import FakeService

    def division(args):
        record = sample(sourcing.GetDivision.returns, {"id": args.division_id})
        if args.division_id not in platform.divisions:
            raise NotFound(f"no division {args.division_id}")
        return {**record, **platform.divisions[args.division_id]}

    def requisition(args):
        if args.requisition_id != "req_1":
            raise NotFound(f"no requisition {args.requisition_id}")
        return sample(sourcing.GetRequisition.returns, {"id": "req_1", "division": "retail"})

    return (FakeService("sourcing").answer(sourcing.GetDivision, division)
            .answer(sourcing.GetRequisition, requisition))


@pytest.fixture
def platform(make_store):
    from services.interview_feedback.store import InterviewFeedbackStore

    return Scheduling(make_store(InterviewFeedbackStore))


def schedule(platform, app_id, **body):
    base = {"interviewers": ["ann", "bob"], "competencies": ["craft"]}
    return platform.shell(REC).schedule_interview(application_id=app_id, **{**base, **body})


def test_slots_then_the_candidates_pick_with_the_divisions_zone_and_room(platform):
    app_id = platform.application()
    slots = [later(30), later(26), later(50)]
    rec = platform.shell(REC)
    offered = rec.schedule_interview(application_id=app_id, interviewers=["ann", "bob"], competencies=["craft"],
                                     slots=slots, duration_minutes=45)
    [event] = rec.bus.payloads("interview_slots_offered")
    assert [iso(parse(s)) for s in event["interview"]["slots"]] == sorted(slots)
    assert rec.bus.payloads("interview_scheduled") == []
    view = contract.Interview.model_validate(offered)
    assert view.status == "awaiting_candidate" and view.starts_at is None and view.sequence == 0
    assert view.slots == sorted(slots) and view.timezone == "Europe/Berlin"
    assert view.meeting_url == f"https://meet.jit.si/hireloop-{view.id}"
    portal = platform.shell(PORTAL)
    seen = portal.candidate_interview(application_id=app_id)
    assert seen["slots"] == sorted(slots) and "interviewers" not in seen

    with pytest.raises(Conflict) as exc:
        portal.pick_slot(application_id=app_id, starts_at=later(31))
    assert exc.value.code == "slot_not_offered" and exc.value.field == "starts_at"
    chosen = portal.pick_slot(application_id=app_id, starts_at=slots[1])
    assert chosen["status"] == "scheduled" and chosen["starts_at"] == slots[1]
    assert chosen["ends_at"] == iso(parse(slots[1]) + timedelta(minutes=45))
    with pytest.raises(Conflict):  # taken: it is no longer waiting for a pick
        portal.pick_slot(application_id=app_id, starts_at=slots[0])
    read = platform.shell(HR).get_interview(interview_id=view.id)
    assert read["starts_at"] == slots[1] and read["status"] == "scheduled" and read["sequence"] == 0
    bus = portal.bus
    [scheduled] = bus.payloads("interview_scheduled")
    assert parse(scheduled["interview"]["starts_at"]) == parse(scheduled["scheduled_at"]) == parse(slots[1])
    assert scheduled["interview"]["timezone"] == "Europe/Berlin" and scheduled["interview"]["duration_minutes"] == 45


def test_slots_in_the_past_and_a_clash_are_refused_with_nothing_stored(platform):
    app_id = platform.application()
    with pytest.raises(Invalid) as exc:
        schedule(platform, app_id, slots=[later(-1), later(5)])
    assert exc.value.field == "slots"
    busy = platform.application("app_busy")
    schedule(platform, busy, starts_at=later(10))
    with pytest.raises(Conflict) as clash:
        schedule(platform, app_id, starts_at=later(10.5), interviewers=["cy", "bob"])
    assert clash.value.code == "interviewer_clash" and clash.value.field == "interviewers"
    assert platform.store.db.interviews.count_documents({"application_id": app_id}) == 0
    allowed = schedule(platform, app_id, starts_at=later(10.5), interviewers=["cy", "bob"], allow_clash=True)
    assert [c["interviewer"] for c in allowed["clashes"]] == ["bob"]
    again = platform.shell(HR).get_interview(interview_id=allowed["id"])
    assert [c["interviewer"] for c in again["clashes"]] == ["bob"]
    # the other division's HR does not see the interview at all
    with pytest.raises(NotFound):
        platform.shell(OTHER_HR).get_interview(interview_id=allowed["id"])


def test_reschedule_raises_the_sequence_and_tells_who_was_on_the_panel(platform):
    app_id = platform.application()
    first = schedule(platform, app_id, starts_at=later(24), format="onsite", location="HQ, room 1")
    assert first["meeting_url"] is None and first["location"] == "HQ, room 1"
    rec = platform.shell(REC)
    moved = rec.patch_interview(interview_id=first["id"], starts_at=later(48), interviewers=["ann"])
    assert moved["sequence"] == 1 and moved["starts_at"] == later(48) and moved["interviewers"] == ["ann"]
    [updated] = rec.bus.payloads("interview_updated")
    assert updated["changed"] == ["starts_at", "interviewers"] and updated["previous_interviewers"] == ["ann", "bob"]
    assert updated["interview"]["sequence"] == 1
    unchanged = rec.patch_interview(interview_id=first["id"], location="HQ, room 1")
    assert unchanged["sequence"] == 1 and len(rec.bus.payloads("interview_updated")) == 1
    linked = rec.patch_interview(interview_id=first["id"], format="video", location=None)
    assert linked["meeting_url"] == f"https://meet.jit.si/hireloop-{first['id']}" and linked["sequence"] == 2


def test_cancel_then_schedule_again_and_attendance_after_the_start(platform):
    app_id = platform.application()
    first = schedule(platform, app_id, starts_at=later(24))
    rec = platform.shell(REC)
    gone = rec.cancel_interview(interview_id=first["id"], reason="the candidate is ill")
    assert gone["status"] == "cancelled" and gone["sequence"] == 1
    assert gone["cancellation"]["reason"] == "the candidate is ill"
    [cancelled] = rec.bus.payloads("interview_cancelled")
    assert cancelled["by_rejection"] is False and cancelled["interview"]["status"] == "cancelled"
    with pytest.raises(Conflict):
        rec.cancel_interview(interview_id=first["id"], reason="twice")
    platform.application(status="shortlisted")  # sourcing moved it back (the status copy follows)
    second = schedule(platform, app_id, starts_at=iso(utcnow().replace(microsecond=0) - timedelta(minutes=5)))
    assert second["id"] != first["id"]
    came = rec.record_attendance(interview_id=second["id"], candidate="no_show")
    assert came["attendance"]["candidate"] == "no_show" and came["attendance"]["recorded_by"] == "rita"
    [recorded] = rec.bus.payloads("interview_attendance_recorded")
    assert recorded["candidate"] == "no_show"
    with pytest.raises(Conflict) as early:
        rec.record_attendance(interview_id=first["id"], candidate="attended")
    assert early.value.code == "interview_closed"


def test_a_fail_from_interviewing_cancels_the_open_interview_with_a_rejection(platform):
    app_id = platform.application()
    interview = schedule(platform, app_id, starts_at=later(24))
    platform.application(status="interviewing")
    hr = platform.shell(HR)
    decision = hr.decide(application_id=app_id, outcome="fail", note="no right to work")
    assert decision["next_status"] == "rejected" and decision["note"] == "no right to work"
    [cancelled] = hr.bus.payloads("interview_cancelled")
    assert cancelled["interview_id"] == interview["id"] and cancelled["by_rejection"] is True
    assert platform.shell(HR).get_interview(interview_id=interview["id"])["status"] == "cancelled"


def test_a_fail_from_shortlisted_and_a_pass_still_needs_the_interview(platform):
    app_id = platform.application()
    hr = platform.shell(HR)
    hr.status_wait_seconds = 0
    assert hr.decide(application_id=app_id, outcome="fail", note="not now")["next_status"] == "rejected"
    other = platform.application("app_2")
    with pytest.raises(Conflict) as exc:
        hr.decide(application_id=other, outcome="pass")
    assert exc.value.code == "invalid_status"


def test_the_kit_is_set_per_requisition_and_shown_to_the_panel(platform):
    rec = platform.shell(REC)
    assert rec.get_kit(requisition_id="req_1")["competencies"] == {}
    kit = rec.put_kit(requisition_id="req_1", competencies={
        "Craft": {"questions": ["Walk me through a latte"], "guidance": "Look for care"}})
    assert kit["division"] == "retail" and kit["updated_by"] == "rita"
    with pytest.raises(NotFound):
        rec.put_kit(requisition_id="req_other", competencies={})
    with pytest.raises(NotFound):
        platform.shell(OTHER_HR).get_kit(requisition_id="req_1")
    app_id = platform.application()
    platform.store.db.application_status.update_one({"_id": app_id}, {"$set": {"requisition_id": "req_1"}})
    interview = schedule(platform, app_id, starts_at=later(3), interviewers=["ann"])
    seen = platform.shell(ANN).get_interview(interview_id=interview["id"])
    assert seen["kit"]["competencies"]["Craft"]["questions"] == ["Walk me through a latte"]
    assert platform.shell(ADMIN).get_interview(interview_id=interview["id"])["kit"] is not None


def test_the_panels_addresses_travel_sealed_on_the_interview_events_and_follow_a_new_panel(platform):
    from shared.crypto import is_sealed, open_sealed

    app_id = platform.application()
    rec = platform.shell(REC)
    panel = [{"name": "ann", "email": "ann@example.com"}, {"name": "bob", "email": None}]
    iid = rec.schedule_interview(application_id=app_id, interviewers=["ann", "bob"], competencies=["craft"],
                                 starts_at=later(30), panel=panel)["id"]
    [scheduled] = rec.bus.of_type("interview_scheduled")
    sent = scheduled.payload["interview"]["panel"]
    assert [m["name"] for m in sent] == ["ann", "bob"] and is_sealed(sent[0]["email"]) and sent[1]["email"] is None
    assert open_sealed(sent[0]["email"]) == "ann@example.com"
    rec.patch_interview(interview_id=iid, interviewers=["bob"], panel=[{"name": "bob", "email": "bob@example.com"}])
    [updated] = rec.bus.of_type("interview_updated")
    assert [(m["name"], open_sealed(m["email"])) for m in updated.payload["interview"]["panel"]] == [
        ("bob", "bob@example.com")]
    with pytest.raises(Invalid) as bad:
        rec.schedule_interview(application_id=platform.application("app_2"), interviewers=["ann"],
                               competencies=["craft"], starts_at=later(50), panel=[{"name": "ann", "email": "nope"}])
    assert bad.value.field.startswith("panel")
