"""Scheduling rules of the interviews issue (domain.py, pure): slots, sequence, clashes, cancel, attendance,
the candidate's pick, kits; and the request models' checks (shared/contracts/commands.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.interview_feedback import domain
from shared.contracts.commands import DecisionIn, InterviewKitIn, InterviewPatch, NewInterview
from shared.errors import Conflict, Invalid

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def interview(**kw):
    doc = {"_id": "int_1", "application_id": "app_1", "division": "retail", "interviewers": ["ann", "bob"],
           "competencies": ["craft"], "scheduled_at": NOW + 24 * H, "duration_minutes": 60, "status": "scheduled",
           "sequence": 0, "slots": [], "submitted": []}
    doc.update(kw)
    return doc


def refused_field(**body) -> str:
    with pytest.raises(ValidationError) as exc:
        NewInterview(interviewers=["ann"], competencies=["craft"], **body)
    return ".".join(str(p) for p in exc.value.errors()[0]["loc"])


# -- the request ------------------------------------------------------------------------------------------

def test_scheduled_at_is_read_as_starts_at_and_exactly_one_time_is_given():
    body = NewInterview(interviewers=["ann"], competencies=["craft"], scheduled_at="2026-12-01T09:00:00Z")
    assert body.starts_at == datetime(2026, 12, 1, 9, tzinfo=UTC) and body.scheduled_at is None
    # what the gateway sends on is accepted again by the service (the same model)
    assert NewInterview.model_validate(body.model_dump(mode="json")).starts_at == body.starts_at
    assert refused_field() == "starts_at"
    assert refused_field(starts_at="2026-12-01T09:00:00Z", scheduled_at="2026-12-01T09:00:00Z") == "scheduled_at"
    assert refused_field(starts_at="2026-12-01T09:00:00Z",
                         slots=["2026-12-09T09:00:00Z", "2026-12-09T10:00:00Z"]) == "slots"


@pytest.mark.parametrize(("body", "field"), [
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": 481}, "duration_minutes"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "CST"}, "timezone"),
    ({"format": "carrier pigeon"}, "format"),
    ({"meeting_url": "javascript:alert(1)"}, "meeting_url"),
    ({"meeting_url": "ftp://files.example.com/x"}, "meeting_url"),
])
def test_bad_scheduling_fields_are_refused_naming_the_field(body, field):
    assert refused_field(starts_at="2026-12-01T09:00:00Z", **body) == field


def test_slots_are_two_to_ten_distinct_times():
    one = ["2026-12-09T09:00:00Z"]
    assert refused_field(slots=one) == "slots"
    assert refused_field(slots=one * 2) == "slots"
    assert refused_field(slots=[f"2026-12-{d:02d}T09:00:00Z" for d in range(10, 21)]) == "slots"
    ok = NewInterview(interviewers=["ann"], competencies=["craft"], timezone="Asia/Shanghai",
                      slots=["2026-12-09T09:00:00Z", "2026-12-09T10:00:00+08:00"])
    assert ok.duration_minutes == 60 and ok.format == "video" and ok.timezone == "Asia/Shanghai"


def test_a_patch_names_what_changes_and_null_only_clears_optional_fields():
    assert InterviewPatch(location=None).changes() == {"location": None}
    assert InterviewPatch(duration_minutes=30, allow_clash=True).changes() == {"duration_minutes": 30}
    for body in ({}, {"allow_clash": True}, {"starts_at": None}, {"interviewers": None}):
        with pytest.raises(ValidationError):
            InterviewPatch(**body)


def test_reason_is_an_alias_of_note_for_a_fail_only():
    assert DecisionIn(outcome="fail", reason="no right to work").note == "no right to work"
    for body, field in (({"outcome": "pass", "reason": "x"}, "reason"),
                        ({"outcome": "fail", "reason": "x", "note": "y"}, "reason")):
        with pytest.raises(ValidationError) as exc:
            DecisionIn(**body)
        assert exc.value.errors()[0]["loc"] == (field,)


def test_a_kit_names_each_competency_once():
    with pytest.raises(ValidationError):
        InterviewKitIn(competencies={"Craft": {}, " craft": {}})


# -- the rules ----------------------------------------------------------------------------------------------

def test_slots_must_be_in_the_future():
    assert domain.future_slots([NOW + 2 * H, NOW + H], NOW) == [NOW + H, NOW + 2 * H]
    with pytest.raises(Invalid) as exc:
        domain.future_slots([NOW + H, NOW - H], NOW)
    assert exc.value.field == "slots"


def test_a_video_interview_without_a_link_gets_the_divisions_room():
    template = "https://meet.jit.si/hireloop-{interview_id}"
    assert domain.meeting_url("video", None, template, "int_7") == "https://meet.jit.si/hireloop-int_7"
    assert domain.meeting_url("video", "https://zoom.us/j/1", template, "int_7") == "https://zoom.us/j/1"
    assert domain.meeting_url("onsite", None, template, "int_7") is None
    assert domain.meeting_url("video", None, None, "int_7") is None


def test_clashes_are_overlapping_held_or_planned_interviews_of_a_panel_member():
    others = [interview(_id="int_a", interviewers=["ann"], scheduled_at=NOW),
              interview(_id="int_b", interviewers=["bob"], scheduled_at=NOW + 3 * H, duration_minutes=30),
              interview(_id="int_c", interviewers=["ann"], scheduled_at=NOW, status="cancelled"),
              interview(_id="int_d", interviewers=["ann"], scheduled_at=None, status="awaiting_candidate")]
    found = domain.clashes(["ann", "bob"], NOW + timedelta(minutes=30), 60, others)
    assert [(c["interviewer"], c["interview_id"]) for c in found] == [("ann", "int_a")]
    assert domain.clashes(["ann"], NOW + H, 60, others) == []  # back to back is no clash
    assert domain.clashes(["ann"], NOW, 60, others, exclude="int_a") == []  # itself, when rescheduled
    assert [c["interview_id"] for c in domain.clashes(["bob"], NOW + 2 * H, 90, others)] == ["int_b"]
    with pytest.raises(Conflict) as exc:
        domain.refuse_clashes(found, "starts_at")
    assert exc.value.code == "interviewer_clash" and exc.value.field == "interviewers"
    domain.refuse_clashes([], "starts_at")


def test_every_real_change_raises_the_sequence_once():
    doc = interview()
    same, changed = domain.patched(doc, {"duration_minutes": 60})
    assert changed == [] and same["sequence"] == 0
    moved, changed = domain.patched(doc, {"starts_at": NOW + 48 * H, "location": "Room 2"})
    assert changed == ["starts_at", "location"] and moved["sequence"] == 1 and moved["scheduled_at"] == NOW + 48 * H
    again, _ = domain.patched(moved, {"interviewers": ["ann"]})
    assert again["sequence"] == 2 and doc["sequence"] == 0  # the input is left alone
    with pytest.raises(Conflict) as exc:
        domain.patched(doc, {"interviewers": ["bob"]}, scorers=["ann"])
    assert exc.value.field == "interviewers"


def test_a_time_given_to_an_interview_awaiting_the_candidate_schedules_it():
    waiting = interview(status="awaiting_candidate", scheduled_at=None, slots=[NOW + H, NOW + 2 * H])
    done, changed = domain.patched(waiting, {"starts_at": NOW + 5 * H})
    assert done["status"] == "scheduled" and done["slots"] == [] and done["sequence"] == 0 and changed == ["starts_at"]


def test_the_candidate_picks_only_an_offered_future_slot_and_only_once():
    waiting = interview(status="awaiting_candidate", scheduled_at=None, slots=[NOW + H, NOW + 2 * H])
    picked = domain.picked(waiting, NOW + 2 * H, NOW)
    assert picked["status"] == "scheduled" and picked["scheduled_at"] == NOW + 2 * H and picked["slots"] == []
    for doc, when, now in ((waiting, NOW + 3 * H, NOW), (picked, NOW + H, NOW), (waiting, NOW + H, NOW + H)):
        with pytest.raises(Conflict) as exc:
            domain.picked(doc, when, now)
        assert exc.value.field == "starts_at"
    assert domain.open_slots(waiting, [NOW + H]) == [NOW + 2 * H]


def test_other_times_are_asked_while_waiting_for_the_candidate():
    waiting = interview(status="awaiting_candidate", scheduled_at=None, slots=[NOW + H, NOW + 2 * H])
    asked = domain.with_times_request(waiting, "evenings please", NOW)
    assert asked["other_times_requested"] == [{"note": "evenings please", "requested_at": NOW}]
    with pytest.raises(Conflict):
        domain.with_times_request(interview(), "", NOW)


def test_cancelling_closes_the_interview_raises_the_sequence_and_frees_the_application():
    doc = interview(live_for="app_1")
    gone = domain.cancelled(doc, "candidate ill", "rita", NOW)
    assert gone["status"] == "cancelled" and gone["live"] is False and gone["sequence"] == 1
    assert gone["cancellation"] == {"reason": "candidate ill", "by_rejection": False, "cancelled_by": "rita",
                                    "cancelled_at": NOW}
    for closed in (gone, interview(status="complete")):
        with pytest.raises(Conflict) as exc:
            domain.cancelled(closed, "again", "rita", NOW)
        assert exc.value.code == "interview_closed"
    with pytest.raises(Conflict):
        domain.patched(gone, {"location": "x"})


def test_attendance_is_recorded_after_the_start_of_a_held_interview():
    doc = interview(scheduled_at=NOW)
    with pytest.raises(Conflict) as exc:
        domain.with_attendance(doc, "no_show", "rita", NOW - timedelta(minutes=1))
    assert exc.value.code == "interview_not_started"
    came = domain.with_attendance(doc, "no_show", "rita", NOW)
    assert came["attendance"] == {"candidate": "no_show", "recorded_by": "rita", "recorded_at": NOW}
    for closed in (interview(status="cancelled"), interview(status="awaiting_candidate", scheduled_at=None)):
        with pytest.raises(Conflict):
            domain.with_attendance(closed, "attended", "rita", NOW + 48 * H)


def test_a_fail_is_rejected_at_any_stage():
    assert domain.next_status("fail", "core") == "rejected"


def test_the_kit_shows_the_interviews_competencies_first():
    kit = {"_id": "req_1", "division": "retail",
           "competencies": {"Teamwork": {"questions": ["Tell me"], "guidance": ""},
                            "Craft": {"questions": ["Show me"], "guidance": "look for care"}}}
    assert list(domain.kit_for(kit, ["craft "])["competencies"]) == ["Craft", "Teamwork"]
    assert domain.kit_for(None, ["craft"]) is None
