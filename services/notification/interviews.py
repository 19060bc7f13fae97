"""Interview notices (the interviews issue): invitations, updates and cancellations with their calendar entry,
the candidate's slot offer, reminders before the interview and scorecard reminders after it. Pure: no I/O.

- notification keeps a copy of each interview (`interviews` collection) from interview_feedback's events: the
  latest by `sequence` (a late older event changes nothing), with the panel's scorecards seen so far
  (`scorecard_submitted`) and the candidate's attendance.
- An interview with a time sends `METHOD:REQUEST` to the candidate and to every panel member with an address;
  each change after that raises `sequence` and sends the update (same UID); a panel member taken off gets
  `METHOD:CANCEL`, and a cancellation sends `METHOD:CANCEL` to everyone who was invited. Slots offered: the
  candidate gets their portal link to pick one (no calendar entry until a time is picked).
- Reminders by the division's policy: the candidate `interview_reminders` seconds before the start (those
  already past are skipped), each panel member whose scorecard is missing `scorecard_reminder_after` seconds
  after the end. Both are planned again when the interview changes and cancelled when it is cancelled; a
  submitted scorecard cancels its author's reminder.
- Which notice is which: one per (interview, kind, sequence, step, recipient) (`dedupe_key`), so an event
  delivered twice plans nothing twice and a change plans its own copies.
- The .ics is made when the notice is sent (services/notification/sender.py) from what the notice stores
  (`invite`: this copy of the interview, its method and its attendees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notification import calendar
from shared.contracts.commands import NotificationPolicy
from shared.contracts.common import NoticeKind

INVITATION = NoticeKind.interview_invitation.value
CANCELLATION = NoticeKind.interview_cancelled.value
SLOTS = NoticeKind.interview_slots.value
REMINDER = NoticeKind.interview_reminder.value
SCORECARD = NoticeKind.scorecard_reminder.value
KINDS = frozenset({INVITATION, CANCELLATION, SLOTS, REMINDER, SCORECARD})
REMINDERS = frozenset({REMINDER, SCORECARD})

AWAITING, SCHEDULED, COMPLETE, CANCELLED = "awaiting_candidate", "scheduled", "complete", "cancelled"
# Within one sequence a pick (awaiting -> scheduled) or a completion is newer than what came before it.
_STATUS_ORDER = {AWAITING: 0, SCHEDULED: 1, COMPLETE: 2, CANCELLED: 3}

CANDIDATE = None  # `Plan.to` of the candidate; a panel member's is their name

SUMMARY = {"en": "Interview: {title}", "zh-CN": "面试：{title}"}
PANEL_SUMMARY = {"en": "Interview with {name}: {title}", "zh-CN": "面试 {name}：{title}"}
LABELS = {"en": {"meeting_url": "Join", "location": "Location"},
          "zh-CN": {"meeting_url": "加入会议", "location": "地点"}}


@dataclass(frozen=True)
class Plan:
    """One interview notice to create: its kind, for whom (`to`: None for the candidate, else a panel member's
    name), how long from now, and the calendar method its .ics carries (None: no .ics)."""

    kind: str
    to: str | None
    delay: int = 0
    method: str | None = None
    step: int = 0
    at: datetime | None = None  # a reminder's exact due time (`delay` is it in whole seconds from now)


@dataclass(frozen=True)
class Change:
    plans: list[Plan] = field(default_factory=list)
    cancel: frozenset[str] = frozenset()  # kinds of this interview's scheduled notices to cancel first


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def projection(details: dict, stored: dict | None) -> dict:
    """The interview as notification keeps it: the event's details (`InterviewDetails` as a dict, datetimes
    parsed) with what only notification tracks (scorecards seen, attendance) carried over."""
    stored = stored or {}
    return {
        "_id": details["interview_id"],
        "application_id": details["application_id"],
        "division": details["division"],
        "status": details["status"],
        "sequence": int(details.get("sequence") or 0),
        "starts_at": _utc(details.get("starts_at")),
        "ends_at": _utc(details.get("ends_at")),
        "duration_minutes": details.get("duration_minutes") or 60,
        "timezone": details.get("timezone") or "UTC",
        "format": details.get("format") or "video",
        "location": details.get("location"),
        "meeting_url": details.get("meeting_url"),
        "instructions": details.get("instructions"),
        "slots": [_utc(s) for s in details.get("slots") or []],
        "panel": [{"name": m["name"], "email": m.get("email")} for m in details.get("panel") or []]
        or [{"name": n, "email": None} for n in details.get("interviewers") or []],
        "submitted": list(stored.get("submitted") or []),
        "attendance": stored.get("attendance"),
    }


def supersedes(stored: dict | None, incoming: dict) -> bool:
    """Whether `incoming` is newer than the copy kept (events may arrive out of order)."""
    if stored is None:
        return True
    old = (stored.get("sequence", 0), _STATUS_ORDER.get(stored.get("status"), 0))
    new = (incoming["sequence"], _STATUS_ORDER.get(incoming["status"], 0))
    return new > old


def addressed(interview: dict | None) -> dict[str, str]:
    """Panel members with an address: name -> email."""
    return {m["name"]: m["email"] for m in (interview or {}).get("panel") or [] if m.get("email")}


def _was_invited(interview: dict | None) -> bool:
    return interview is not None and interview.get("status") in (SCHEDULED, COMPLETE)


def reminders(interview: dict, policy: NotificationPolicy, now: datetime) -> list[Plan]:
    """The candidate's reminders still ahead, and each addressed panel member's scorecard reminder."""
    plans: list[Plan] = []
    starts, ends = _utc(interview.get("starts_at")), _utc(interview.get("ends_at"))
    now = _utc(now)
    if starts is None:
        return plans
    for step, offset in enumerate(sorted(policy.interview_reminders, reverse=True)):
        due = starts - timedelta(seconds=offset)
        if due > now:  # one already past would arrive late or after the interview: skipped
            plans.append(Plan(REMINDER, CANDIDATE, int((due - now).total_seconds()), step=step, at=due))
    ends = ends or starts + timedelta(minutes=interview.get("duration_minutes") or 60)
    due = max(ends + timedelta(seconds=policy.scorecard_reminder_after), now)
    for name in addressed(interview):
        if name not in interview.get("submitted", []):
            plans.append(Plan(SCORECARD, name, int((due - now).total_seconds()), at=due))
    return plans


def plan_change(before: dict | None, after: dict, policy: NotificationPolicy, now: datetime) -> Change:
    """What one newer copy of the interview sends and cancels."""
    status = after["status"]
    if status == AWAITING:
        first = before is None or before.get("status") != AWAITING
        return Change([Plan(SLOTS, CANDIDATE)] if first else [])
    if status == CANCELLED:
        invited = _was_invited(before) or (before is None and after.get("starts_at") is not None)
        method = "CANCEL" if invited else None  # slots never picked: no calendar entry to take off
        plans = [Plan(CANCELLATION, CANDIDATE, method=method)]
        if invited:
            panel = addressed(after) | addressed(before)
            plans += [Plan(CANCELLATION, name, method="CANCEL") for name in panel]
        return Change(plans, cancel=REMINDERS)
    if status == SCHEDULED:
        moved = before is None or before.get("sequence") != after["sequence"] or before.get("status") != SCHEDULED
        if not moved:
            return Change()
        plans = [Plan(INVITATION, CANDIDATE, method="REQUEST")]
        plans += [Plan(INVITATION, name, method="REQUEST") for name in addressed(after)]
        if _was_invited(before):  # taken off the panel: their calendar entry goes
            plans += [Plan(CANCELLATION, name, method="CANCEL") for name in addressed(before)
                      if name not in addressed(after)]
        return Change(plans + reminders(after, policy, now), cancel=REMINDERS)
    return Change()  # complete: nothing to send


def with_scorecard(interview: dict, interviewer: str) -> dict:
    submitted = list(interview.get("submitted") or [])
    if interviewer not in submitted:
        submitted.append(interviewer)
    return {**interview, "submitted": submitted}


def dedupe_key(interview: dict, plan: Plan) -> str:
    return f"{interview['_id']}:{plan.kind}:{interview['sequence']}:{plan.step}:{plan.to or ''}"


# ----------------------------------------------------------------------------------------------------
# Words and the calendar entry


def when(interview: dict, locale: str) -> str | None:
    """The time in the interview's zone (the candidate's; for now the panel's too), in the reader's words."""
    starts = _utc(interview.get("starts_at"))
    if starts is None:
        return None
    return calendar.when_text(starts, interview.get("duration_minutes") or 60, interview["timezone"], locale)


def context(interview: dict, plan: Plan, policy: NotificationPolicy, locale: str) -> dict[str, Any]:
    """What an interview template may use, besides domain.base_context."""
    from services.notification.domain import fmt_duration  # domain imports this module's kinds

    lead = None
    if plan.kind == REMINDER:
        offsets = sorted(policy.interview_reminders, reverse=True)
        lead = fmt_duration(offsets[plan.step], locale) if plan.step < len(offsets) else None
    return {
        "to_panel": plan.to is not None,
        "member": plan.to or "",
        "update": interview["sequence"] > 0 and plan.kind == INVITATION,
        "when": when(interview, locale),
        "format": interview["format"],
        "location": interview.get("location"),
        "meeting_url": interview.get("meeting_url"),
        "instructions": interview.get("instructions"),
        "slots": [calendar.when_text(s, interview.get("duration_minutes") or 60, interview["timezone"], locale)
                  for s in interview.get("slots") or []],
        "lead": lead,
        "scorecard_after": fmt_duration(policy.scorecard_reminder_after, locale),
    }


def invite(interview: dict, plan: Plan, *, title: str, candidate_name: str, candidate_email: str | None,
           member_email: str | None, organizer_name: str, organizer_email: str, locale: str) -> dict[str, Any] | None:
    """What the notice keeps to make its .ics when sent (None: it carries none). The candidate's copy names
    only the candidate (no staff names or addresses); a panel member's names the candidate and the panel."""
    if plan.method is None or interview.get("starts_at") is None:
        return None
    if plan.to is None:
        attendees = [[candidate_name, candidate_email, "REQ-PARTICIPANT"]] if candidate_email else []
        summary = SUMMARY.get(locale, SUMMARY["en"]).format(title=title)
    else:
        attendees = [[candidate_name, candidate_email, "REQ-PARTICIPANT"]] if candidate_email else []
        attendees += [[name, email, "REQ-PARTICIPANT"] for name, email in addressed(interview).items()]
        if member_email and not any(a[1] == member_email for a in attendees):
            attendees.append([plan.to, member_email, "REQ-PARTICIPANT"])  # taken off the panel: their copy names them
        summary = PANEL_SUMMARY.get(locale, PANEL_SUMMARY["en"]).format(title=title, name=candidate_name)
    return {
        "method": plan.method,
        "id": interview["_id"],
        "sequence": interview["sequence"],
        "starts_at": _utc(interview["starts_at"]).isoformat(),
        "duration_minutes": interview.get("duration_minutes") or 60,
        "timezone": interview["timezone"],
        "format": interview["format"],
        "title": summary,
        "organizer_name": organizer_name,
        "organizer_email": organizer_email,
        "attendees": attendees,
        "location": interview.get("location"),
        "meeting_url": interview.get("meeting_url"),
        "instructions": interview.get("instructions") if plan.to is None else None,
        "labels": LABELS.get(locale, LABELS["en"]),
    }


def ics(stored: dict) -> bytes:
    """The .ics of a notice's `invite`, made at sending time."""
    fields = {k: v for k, v in stored.items() if k != "method"}
    fields["starts_at"] = datetime.fromisoformat(fields["starts_at"])
    fields["attendees"] = tuple(calendar.Attendee(*a) for a in fields["attendees"] if a[1])
    return calendar.invitation(calendar.InterviewInvite(**fields), stored["method"])


# ----------------------------------------------------------------------------------------------------
# Overdue scorecards and no-shows


def overdue(interview: dict, policy: NotificationPolicy, now: datetime) -> dict[str, Any] | None:
    """An interview held (scheduled, its end past by `scorecard_reminder_after`) with scorecards missing."""
    if interview.get("status") != SCHEDULED or interview.get("starts_at") is None:
        return None
    ends = _utc(interview.get("ends_at")) or _utc(interview["starts_at"]) + timedelta(
        minutes=interview.get("duration_minutes") or 60)
    due = ends + timedelta(seconds=policy.scorecard_reminder_after)
    missing = [m["name"] for m in interview.get("panel") or [] if m["name"] not in interview.get("submitted", [])]
    if not missing or due > _utc(now):
        return None
    return {"interview_id": interview["_id"], "application_id": interview["application_id"],
            "division": interview["division"], "ends_at": ends, "overdue_since": due, "missing": missing}


def attendance_figures(interviews: list[dict]) -> dict[str, Any]:
    """Interview attendance for the timing report: no_show_rate = no-shows / attendance recorded."""
    recorded = [i["attendance"]["candidate"] for i in interviews if i.get("attendance")]
    no_show = recorded.count("no_show")
    return {"recorded": len(recorded), "attended": recorded.count("attended"), "no_show": no_show,
            "no_show_rate": round(no_show / len(recorded), 4) if recorded else None}
