"""Interview notices (services/notification/interviews.py): the rules alone, then the shell in process on real
MongoDB with the real SMTP message builder (the .ics made at send time, parsed back with icalendar)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from nameko.testing.services import worker_factory

from services.notification import interviews
from services.notification.sender import SmtpSender
from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.tests.test_service import ADMIN, HR, RECRUITER, deliver
from services.notification.webhook import WebhookSender
from shared.config import Settings
from shared.contracts.commands import NotificationPolicy
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.crypto import seal
from shared.errors import Invalid
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def copy(status="scheduled", sequence=0, starts=NOW + timedelta(days=2), panel=(("ann", "ann@x.test"),),
         submitted=(), minutes=60):
    return {"_id": "int_1", "application_id": "app_1", "division": "retail", "status": status, "sequence": sequence,
            "starts_at": starts, "ends_at": starts + timedelta(minutes=minutes) if starts else None,
            "duration_minutes": minutes, "timezone": "Asia/Shanghai", "format": "video", "location": None,
            "meeting_url": "https://meet.example/int_1", "instructions": None, "slots": [],
            "panel": [{"name": n, "email": e} for n, e in panel], "submitted": list(submitted), "attendance": None}


# ---------------------------------------------------------------------------------------------------- rules

def test_a_first_time_invites_the_candidate_and_each_addressed_panel_member_with_reminders_at_policy_offsets():
    policy = NotificationPolicy(interview_reminders=[7200, 86400], scorecard_reminder_after=600)
    after = copy(panel=(("ann", "ann@x.test"), ("bo", None)))
    change = interviews.plan_change(None, after, policy, NOW)
    invitations = [(p.to, p.method) for p in change.plans if p.kind == interviews.INVITATION]
    assert invitations == [(None, "REQUEST"), ("ann", "REQUEST")]  # bo has no address
    reminders = [(p.to, p.delay, p.step) for p in change.plans if p.kind == interviews.REMINDER]
    assert reminders == [(None, 2 * 86400 - 86400, 0), (None, 2 * 86400 - 7200, 1)]
    [scorecard] = [p for p in change.plans if p.kind == interviews.SCORECARD]
    assert (scorecard.to, scorecard.delay) == ("ann", 2 * 86400 + 3600 + 600)


def test_a_reminder_already_past_is_skipped_and_a_submitted_scorecard_is_not_reminded():
    policy = NotificationPolicy(interview_reminders=[86400, 60])
    after = copy(starts=NOW + timedelta(hours=1), panel=(("ann", "a@x.test"), ("bo", "b@x.test")), submitted=["bo"])
    plans = interviews.reminders(after, policy, NOW)
    assert [(p.kind, p.to, p.delay) for p in plans] == [(interviews.REMINDER, None, 3540),
                                                         (interviews.SCORECARD, "ann", 3600 + 3600 + 7200)]


def test_a_change_sends_updates_cancels_for_who_left_and_replans_reminders():
    before = copy(panel=(("ann", "a@x.test"), ("bo", "b@x.test")))
    after = copy(sequence=1, starts=NOW + timedelta(days=3), panel=(("ann", "a@x.test"),))
    change = interviews.plan_change(before, after, NotificationPolicy(), NOW)
    sent = sorted((p.kind, p.to or "", p.method) for p in change.plans if p.method)
    assert sent == [("interview_cancelled", "bo", "CANCEL"), ("interview_invitation", "", "REQUEST"),
                    ("interview_invitation", "ann", "REQUEST")]
    assert change.cancel == interviews.REMINDERS
    assert interviews.plan_change(after, after, NotificationPolicy(), NOW).plans == []  # nothing new


def test_a_cancellation_cancels_for_everyone_invited_and_slots_send_the_portal_link_without_a_calendar():
    before = copy(panel=(("ann", "a@x.test"),))
    change = interviews.plan_change(before, copy(status="cancelled", sequence=1), NotificationPolicy(), NOW)
    assert sorted((p.to or "", p.method) for p in change.plans) == [("", "CANCEL"), ("ann", "CANCEL")]
    offered = copy(status="awaiting_candidate", starts=None)
    assert [(p.kind, p.method) for p in interviews.plan_change(None, offered, NotificationPolicy(), NOW).plans] == [
        ("interview_slots", None)]
    # slots never picked, then cancelled: the candidate hears it, with no calendar entry to remove
    never = interviews.plan_change(offered, {**offered, "status": "cancelled", "sequence": 0}, NotificationPolicy(),
                                   NOW)
    assert [(p.to, p.method) for p in never.plans] == [(None, None)]


def test_a_late_older_copy_is_not_newer_and_a_pick_is_newer_than_the_offer():
    assert not interviews.supersedes(copy(sequence=2), copy(sequence=1))
    assert interviews.supersedes(copy(status="awaiting_candidate", starts=None), copy(sequence=0))
    assert not interviews.supersedes(copy(sequence=0), copy(status="awaiting_candidate", starts=None))


@pytest.mark.parametrize("value", [[-1], [1, 1], list(range(1, 7)), "86400"])
def test_policy_reminders_are_validated(value):
    with pytest.raises(Exception) as raised:
        NotificationPolicy(interview_reminders=value)
    assert "interview_reminders" in str(raised.value)


def test_overdue_names_the_missing_only_after_the_policy_delay():
    held = copy(starts=NOW - timedelta(hours=3), panel=(("ann", None), ("bo", "b@x.test")), submitted=["bo"])
    policy = NotificationPolicy(scorecard_reminder_after=3600)
    found = interviews.overdue(held, policy, NOW)
    assert found["missing"] == ["ann"] and found["overdue_since"] == NOW - timedelta(hours=1)
    assert interviews.overdue(held, NotificationPolicy(scorecard_reminder_after=4 * 3600), NOW) is None
    assert interviews.overdue({**held, "submitted": ["ann", "bo"]}, policy, NOW) is None


# ---------------------------------------------------------------------------------------------------- shell

class MimeMailer:
    """Builds each message with the real SMTP sender (attachments checked against the notice), keeps it."""

    def __init__(self):
        self.builder = SmtpSender("smtp://127.0.0.1:1", "hireloop <noreply@hireloop.test>")
        self.sent: list[tuple[dict, object]] = []

    def send(self, notice, attachments=()):
        message = message_from_bytes(bytes(self.builder.build_message(notice, attachments)), policy=policy.default)
        self.sent.append((notice, message))
        return message["Message-ID"]

    def to(self, recipient, kind=None):
        return [m for n, m in self.sent if n["recipient"] == recipient and (kind is None or n["kind"] == kind)]


@pytest.fixture
def store(make_store):
    return make_store(NotificationStore)


@pytest.fixture
def mailer():
    return MimeMailer()


@pytest.fixture
def shell(store, mailer):
    def make(caller=HR):
        return worker_factory(NotificationService, store=store, bus=InProcessBus(store, caller), mailer=mailer,
                              webhooks=WebhookSender(), retries=Retries(backoff_base=5, max_attempts=5),
                              reply_to_fallback=None, settings=Settings())
    return make


def event(svc, event_type, payload):
    env = EventEnvelope(type=event_type, producer="interview_feedback", payload=payload)
    handler = {"interview_scheduled": svc.on_interview_scheduled,
               "interview_slots_offered": svc.on_interview_slots_offered,
               "interview_updated": svc.on_interview_updated, "interview_cancelled": svc.on_interview_cancelled,
               "scorecard_submitted": svc.on_scorecard_submitted,
               "interview_attendance_recorded": svc.on_interview_attendance}[event_type]
    handler(EVENT_MODELS[("interview_feedback", event_type)].model_validate(env.payload), env)


def received(shell, app_id="app_1", division="retail"):
    deliver(shell(), "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": division, "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": seal("li@example.com"), "skills": ["Coffee"]}})


def details(starts, *, status="scheduled", sequence=0, panel=(("ann", "ann@x.test"), ("bo", None)), slots=(),
            minutes=60, app_id="app_1", interview_id="int_1"):
    return {"interview_id": interview_id, "application_id": app_id, "division": "retail", "status": status,
            "sequence": sequence, "interviewers": [n for n, _ in panel], "competencies": ["craft"],
            "starts_at": iso(starts) if starts else None,
            "ends_at": iso(starts + timedelta(minutes=minutes)) if starts else None, "duration_minutes": minutes,
            "timezone": "Asia/Shanghai", "format": "video", "meeting_url": "https://meet.example/int_1",
            "slots": [iso(s) for s in slots], "panel": [{"name": n, "email": seal(e)} for n, e in panel]}


def scheduled(starts, **kw):
    d = details(starts, **kw)
    return {"interview_id": d["interview_id"], "application_id": d["application_id"], "division": "retail",
            "interviewers": d["interviewers"], "competencies": ["craft"], "scheduled_at": d["starts_at"],
            "interview": d}


def updated(starts, **kw):
    d = details(starts, **kw)
    return {"interview_id": d["interview_id"], "application_id": d["application_id"], "division": "retail",
            "changed": ["starts_at"], "previous_interviewers": [], "updated_by": "rita", "updated_at": iso(utcnow()),
            "interview": d}


def calendar_of(message):
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part, Calendar.from_ical(part.get_payload(decode=True))


def vevent(cal):
    [ev] = cal.walk("VEVENT")
    return ev


def test_invitation_update_and_cancellation_carry_one_uid_a_raised_sequence_and_the_right_method(shell, store,
                                                                                                   mailer):
    received(shell)
    starts = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    event(shell(), "interview_scheduled", scheduled(starts))
    [candidate] = mailer.to("li@example.com", "interview_invitation")
    [ann] = mailer.to("ann@x.test", "interview_invitation")
    assert len(mailer.sent) == 2  # bo has no address: left out of the emails, not of the panel
    part, cal = calendar_of(candidate)
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    ev = vevent(cal)
    assert str(cal["METHOD"]) == "REQUEST" and str(ev["UID"]) == "int_1@hireloop" and int(ev["SEQUENCE"]) == 0
    assert ev.decoded("DTSTART") == starts and str(ev.decoded("DTSTART").tzinfo) == "Asia/Shanghai"
    assert ev["DTSTART"].params["TZID"] == "Asia/Shanghai"
    # the candidate's copy names no staff; the time in the text is the interview's zone, in words
    attendees = [str(a) for a in (ev.get("ATTENDEE") if isinstance(ev.get("ATTENDEE"), list) else [ev["ATTENDEE"]])]
    assert attendees == ["mailto:li@example.com"]
    text = candidate.get_body(("plain",)).get_content()
    assert starts.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") in text and "ann" not in text
    _, ann_cal = calendar_of(ann)
    assert "mailto:ann@x.test" in [str(a) for a in vevent(ann_cal)["ATTENDEE"]]

    # a reschedule, bo given an address and ann taken off: updates with SEQUENCE 1, ann's entry cancelled
    later = starts + timedelta(days=1)
    event(shell(), "interview_updated", updated(later, sequence=1, panel=(("bo", "bo@x.test"),)))
    [update] = mailer.to("li@example.com", "interview_invitation")[1:]
    _, cal = calendar_of(update)
    assert int(vevent(cal)["SEQUENCE"]) == 1 and vevent(cal).decoded("DTSTART") == later
    assert str(vevent(cal)["UID"]) == "int_1@hireloop" and update["Subject"].startswith("Updated:")
    [gone] = mailer.to("ann@x.test", "interview_cancelled")
    _, cal = calendar_of(gone)
    assert str(cal["METHOD"]) == "CANCEL" and int(vevent(cal)["SEQUENCE"]) == 1
    assert len(mailer.to("bo@x.test", "interview_invitation")) == 1
    # the first copy's reminders are cancelled, the new time's planned (the defaults: 1 day, 2 hours before)
    waiting = {(n["kind"], n.get("to"), n["scheduled_for"].replace(tzinfo=UTC))
               for n in store.db.notices.find({"interview_id": "int_1", "status": "scheduled"})}
    assert {(k, t) for k, t, _ in waiting} == {("interview_reminder", None), ("scorecard_reminder", "bo")}
    assert sorted(w for k, _, w in waiting if k == "interview_reminder") == [later - timedelta(days=1),
                                                                            later - timedelta(hours=2)]
    assert store.db.notices.count_documents({"interview_id": "int_1", "to": "ann", "status": "scheduled"}) == 0

    # the update delivered again, then an older copy late: nothing more
    event(shell(), "interview_updated", updated(later, sequence=1, panel=(("bo", "bo@x.test"),)))
    event(shell(), "interview_scheduled", scheduled(starts))
    assert len(mailer.sent) == 5

    cancel = details(later, status="cancelled", sequence=2, panel=(("bo", "bo@x.test"),))
    event(shell(), "interview_cancelled", {"interview_id": "int_1", "application_id": "app_1", "division": "retail",
                                           "reason": "the room is gone", "cancelled_by": "rita",
                                           "cancelled_at": iso(utcnow()), "interview": cancel})
    for who in ("li@example.com", "bo@x.test"):
        [message] = mailer.to(who, "interview_cancelled")
        part, cal = calendar_of(message)
        assert part.get_param("method") == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
        assert int(vevent(cal)["SEQUENCE"]) == 2 and str(vevent(cal)["STATUS"]) == "CANCELLED"
    assert "the room is gone" not in mailer.to("li@example.com", "interview_cancelled")[0].as_string()
    assert store.db.notices.count_documents({"interview_id": "int_1", "status": "scheduled"}) == 0


def test_slots_offered_send_the_portal_link_and_no_calendar_until_a_pick(shell, mailer):
    received(shell, "app_2")
    first = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    offered = details(None, status="awaiting_candidate", slots=[first, first + timedelta(hours=2)], app_id="app_2",
                      interview_id="int_2")
    event(shell(), "interview_slots_offered", {"interview_id": "int_2", "application_id": "app_2",
                                               "division": "retail", "interview": offered})
    [(notice, message)] = mailer.sent
    assert notice["kind"] == "interview_slots" and "attachments" not in notice
    assert [p.get_content_type() for p in message.walk()] == ["text/plain"]
    assert "/portal/" in message.get_content()
    event(shell(), "interview_scheduled", scheduled(first, app_id="app_2", interview_id="int_2"))
    [_, cal] = calendar_of(mailer.to("li@example.com", "interview_invitation")[0])
    assert vevent(cal).decoded("DTSTART") == first


def test_reminders_go_at_their_policy_offsets_and_only_the_missing_scorecard_is_reminded(shell, store, mailer):
    shell(ADMIN).put_policy(division="retail", interview_reminders=[2, 1], scorecard_reminder_after=1)
    received(shell, "app_3")
    starts = (utcnow() + timedelta(seconds=3)).replace(microsecond=0)
    event(shell(), "interview_scheduled", scheduled(starts, minutes=1, app_id="app_3", interview_id="int_3",
                                                    panel=(("ann", "ann@x.test"), ("bo", "bo@x.test"))))
    waiting = {(n["kind"], n.get("to") or "", n["step"]): n["scheduled_for"].replace(tzinfo=UTC)
               for n in store.db.notices.find({"interview_id": "int_3", "status": "scheduled"})}
    assert waiting == {("interview_reminder", "", 0): starts - timedelta(seconds=2),
                       ("interview_reminder", "", 1): starts - timedelta(seconds=1),
                       ("scorecard_reminder", "ann", 0): starts + timedelta(minutes=1, seconds=1),
                       ("scorecard_reminder", "bo", 0): starts + timedelta(minutes=1, seconds=1)}
    event(shell(), "scorecard_submitted", {"interview_id": "int_3", "application_id": "app_3", "division": "retail",
                                           "interviewer": "bo", "ratings": {"craft": 4}, "recommendation": "yes",
                                           "submitted_at": iso(utcnow())})
    time.sleep(max(0.0, (starts - utcnow()).total_seconds()) + 0.2)
    shell().dispatch_due()
    assert len(mailer.to("li@example.com", "interview_reminder")) == 2
    assert mailer.to("ann@x.test", "scorecard_reminder") == []  # not before the end + 1 s
    # the overdue list is HR's view of the same thing
    store.db.interviews.update_one({"_id": "int_3"}, {"$set": {
        "starts_at": starts - timedelta(minutes=5), "ends_at": starts - timedelta(minutes=4)}})
    store.db.notices.update_many({"interview_id": "int_3", "kind": "scorecard_reminder"},
                                 {"$set": {"scheduled_for": utcnow()}})
    shell().dispatch_due()
    [reminder] = mailer.to("ann@x.test", "scorecard_reminder")
    assert "Li Wei" in reminder["Subject"] and mailer.to("bo@x.test", "scorecard_reminder") == []
    overdue = shell(RECRUITER).overdue_scorecards()
    assert [(i["interview_id"], i["missing"]) for i in overdue["items"]] == [("int_3", ["ann"])]
    assert shell(HR).overdue_scorecards(division="logistics")["items"] == []


def test_a_no_show_counts_in_the_timing_report(shell):
    received(shell, "app_4")
    starts = utcnow() - timedelta(hours=1)
    event(shell(), "interview_scheduled", scheduled(starts, app_id="app_4", interview_id="int_4"))
    event(shell(), "interview_attendance_recorded", {
        "interview_id": "int_4", "application_id": "app_4", "division": "retail", "candidate": "no_show",
        "recorded_by": "rita", "recorded_at": iso(utcnow()),
        "interview": details(starts, app_id="app_4", interview_id="int_4")})
    figures = shell(HR).timing_report(division="retail")["interviews"]
    assert (figures["recorded"], figures["no_show"], figures["no_show_rate"]) == (1, 1, 1.0)
    assert shell(HR).timing_report(division="retail", start=iso(utcnow()))["interviews"]["recorded"] == 0


def test_a_policys_reminders_are_read_back_and_bad_ones_refused(shell):
    stored = shell(ADMIN).put_policy(division="retail", interview_reminders=[60, 3600])
    assert stored["interview_reminders"] == [3600, 60]
    with pytest.raises(Invalid) as bad:
        shell(ADMIN).put_policy(division="retail", interview_reminders=[60, 60])
    assert bad.value.field.startswith("interview_reminders")
    assert shell(HR).get_policy(division="retail")["scorecard_reminder_after"] == 7200
