"""Notification rules: who is told what, when, and in which words. Pure functions, no I/O.

- A status change plans notices (`plan_status_change`): an offer now plus the onboarding guide, the HR
  phone-confirmation reminder and, for urgent roles, the escalation to group HR; or a rejection and a
  survey. Each planned notice has a delay from the division's `NotificationPolicy`: a screen-out's
  rejection waits `screen_out_rejection_delay` (nobody is turned down a second after applying), a
  decision's `rejection_delay`; the survey never comes before the rejection.
- Candidates read words written for them: no staff or key names, no internal ids, no screening reasons,
  no notes, no interview scores in a rejection. Their emails carry `Reply-To` (`candidate_reply_to`)
  and say "reply" only when there is somewhere to reply.
- Some events cancel notices still scheduled (`cancels_on_status`, `cancels_on_confirmation`).
- A notice is unique per (application or re-engagement, kind, step): `dedupe_key`.
- Words come from templates (jinja2 text; first line `Subject: ...`, a blank line, then the body),
  rendered here by `render`; the service loads the files.
- Channels: candidates are always written to by email; HR notices (division or group HR) go to the
  division's signed webhook when its policy has `hr_webhook_url`, else by email (`delivery`). The
  channel is decided when the notice is created. The webhook secret is write-only: a policy as read
  (`Policy.of` in shared/contracts/notification.py) never shows it, and a PUT that keeps the URL but
  omits the secret keeps the stored one (`policy_to_store`).
- Sending: a claimed notice that fails is re-scheduled with back-off (`after_failure`) and fails for
  good after `max_attempts` (default `MAX_ATTEMPTS`; both configurable by the shell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2

from services.notification import chat
from services.notification.destinations import AllowList, DestinationRefused, check_url
from shared import stats
from shared.contracts.commands import NotificationPolicy
from shared.contracts.common import NoticeKind
from shared.contracts.notification import Notice
from shared.contracts.status import supersedes
from shared.errors import Invalid
from shared.timeutil import iso

EMAIL, WEBHOOK = "email", "webhook"
CHANNEL = EMAIL  # the channel of notices stored before there was a choice
CHANNELS = (EMAIL, WEBHOOK)
KINDS = tuple(k.value for k in NoticeKind)

# Statuses of a notice. "sending" is internal (claimed by a dispatcher); the API shows it as "scheduled".
SCHEDULED, SENDING, SENT, FAILED, CANCELLED = "scheduled", "sending", "sent", "failed", "cancelled"

MAX_ATTEMPTS = 5
CLAIM_LEASE_SECONDS = 60  # longer than the SMTP timeout, so a live sender never loses its claim
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600

# Who a notice goes to.
CANDIDATE, DIVISION_HR, GROUP_HR = "candidate", "division_hr", "group_hr"
# Audiences that are HR staff: their notices may go to the division's HR system over the webhook.
HR_AUDIENCES = frozenset({DIVISION_HR, GROUP_HR})

# Statuses after which the candidate's notices still scheduled are moot. `shortlisted` is reached with
# something scheduled only when a recruiter overrides a screen-out: its rejection must not go out.
CANCELLING_STATUSES = frozenset({"declined", "withdrawn", "shortlisted"})
# Both end an application with a "no": the candidate gets the same respectful notice and survey.
REJECTING_STATUSES = frozenset({"rejected", "screened_out"})
# Approval progress is news only while the application waits for approvals.
PROGRESS_STATUSES = frozenset({"interviewed", "awaiting_approval"})
# What a confirmed offer makes unnecessary.
CONFIRMATION_CANCELS = frozenset({NoticeKind.hr_confirm_reminder.value, NoticeKind.confirm_escalation.value})

STEP_LABELS = {
    "en": {"hr": "division HR review", "admin": "group HR approval"},
    "zh-CN": {"hr": "事业部 HR 审核", "admin": "集团 HR 审批"},
}


# ----------------------------------------------------------------------------------------------------
# Policies and recipients


def effective_policy(stored: dict | None) -> NotificationPolicy:
    """The division's policy: what was stored, defaults for anything missing."""
    if not stored:
        return NotificationPolicy()
    fields = NotificationPolicy.model_fields
    return NotificationPolicy.model_validate({k: v for k, v in stored.items() if k in fields})




def policy_to_store(new: NotificationPolicy, stored: NotificationPolicy | None,
                    allow: AllowList | None = None, remove_chat: frozenset[str] = frozenset()) -> NotificationPolicy:
    """The policy a PUT stores. The webhook URL must be an allowed destination as written (a public https
    address unless the operator's allow-list names it; destinations.py). The secret is write-only, so a
    GET's body sent back has it null: with a webhook URL kept and no secret given, the stored secret stays.
    A URL with no secret at all is refused.

    The chat URLs (chat.py) are write-only too: each must be on its chat's hosts (or allow-listed); one not
    sent is kept, unless its channel is in `remove_chat` (the PUT said `<channel>_webhook_set: false`)."""
    if new.hr_webhook_url is not None:
        try:
            check_url(str(new.hr_webhook_url), allow or AllowList())
        except DestinationRefused as exc:
            raise Invalid(f"hr_webhook_url: {exc}", field="hr_webhook_url") from None
    new = _chat_to_store(new, stored, allow or AllowList(), remove_chat)
    if new.hr_webhook_url is None or new.hr_webhook_secret is not None:
        return new
    kept = stored.hr_webhook_secret if stored is not None else None
    if kept is None:
        raise Invalid("hr_webhook_secret: required (16 to 200 characters) with hr_webhook_url",
                      field="hr_webhook_secret")
    return new.model_copy(update={"hr_webhook_secret": kept})


def _chat_to_store(new: NotificationPolicy, stored: NotificationPolicy | None, allow: AllowList,
                   remove: frozenset[str]) -> NotificationPolicy:
    kept: dict[str, Any] = {}
    for channel in chat.CHANNELS:
        name = chat.POLICY_FIELDS[channel]
        url = getattr(new, name)
        if url is not None:
            try:
                chat.checker(channel)(str(url), allow)
            except DestinationRefused as exc:
                raise Invalid(f"{name}: {exc}", field=name) from None
        elif channel not in remove and stored is not None:
            kept[name] = getattr(stored, name)
    return new.model_copy(update=kept) if kept else new


def division_hr_email(division: str, policy: NotificationPolicy) -> str:
    return policy.hr_email or f"hr-{division}@hireloop.local"


def group_hr_email(policy: NotificationPolicy) -> str:
    return policy.group_hr_email or "group-hr@hireloop.local"


def candidate_reply_to(policy: NotificationPolicy, fallback: str | None = None) -> str | None:
    """Where a candidate's reply goes: the policy's `reply_to`, else the division's HR address when one is
    configured, else the group-wide `fallback` (the CANDIDATE_REPLY_TO setting), else nowhere (None): the
    made-up `hr-<division>@hireloop.local` of HR notices is never offered to a candidate."""
    return policy.reply_to or policy.hr_email or fallback or None


def recipient(audience: str, candidate_email: str, division: str, policy: NotificationPolicy) -> str:
    if audience == CANDIDATE:
        return candidate_email
    if audience == DIVISION_HR:
        return division_hr_email(division, policy)
    if audience == GROUP_HR:
        return group_hr_email(policy)
    raise ValueError(f"unknown audience {audience!r}")


def delivery(audience: str, candidate_email: str, division: str, policy: NotificationPolicy) -> tuple[str, str]:
    """(channel, recipient) of a new notice: HR audiences go to the division's webhook when it has one;
    everything else, and candidates always, by email."""
    if audience in HR_AUDIENCES and policy.hr_webhook_url is not None:
        return WEBHOOK, str(policy.hr_webhook_url)
    return EMAIL, recipient(audience, candidate_email, division, policy)


# ----------------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True)
class Planned:
    """A notice to create: what, for whom, how long after now, and template extras."""

    kind: str
    audience: str
    delay: int  # seconds from now
    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def dedupe_key(application_id: str | None, reengagement_id: str | None, kind: str, step: int = 0,
               member_id: str | None = None) -> str:
    subject = application_id or reengagement_id or member_id
    if not subject:
        raise ValueError("a notice belongs to an application, a re-engagement or a community sign-up")
    return f"{subject}:{kind}:{step}"


def plan_status_change(status: str, tier: str, urgent: bool, policy: NotificationPolicy,
                       confirmed: bool = False, offer: dict | None = None,
                       now: datetime | None = None, previous: str | None = None) -> list[Planned]:
    """The notices one application status change calls for (none for most changes). `offer`: the terms the
    offer carries (OfferInfo as JSON), when set: in the offer notice, its letter attached, and HR warned
    before it expires."""
    if status == "offered":
        plans = [
            Planned(NoticeKind.offer, CANDIDATE, 0, extra={"evidence": tier == "basic" and policy.share_evidence,
                                                           **({"offer": offer} if offer else {})}),
            Planned(NoticeKind.guide, CANDIDATE, policy.guide_after),
        ]
        plans += plan_expiry_warning(offer, policy, now or datetime.now(UTC))
        if not confirmed:  # HR already confirmed by phone (its event came first): nothing to remind
            plans.append(Planned(NoticeKind.hr_confirm_reminder, DIVISION_HR, policy.hr_confirm_after))
            if urgent:
                plans.append(Planned(NoticeKind.confirm_escalation, GROUP_HR, policy.urgent_confirm_within))
        return plans
    if status in REJECTING_STATUSES:
        delay = rejection_delay(status, policy)
        return [
            Planned(NoticeKind.rejection, CANDIDATE, delay, extra=rejection_stage(status, previous)),
            Planned(NoticeKind.survey, CANDIDATE, max(policy.survey_after, delay)),
        ]
    return []


# ----------------------------------------------------------------------------------------------------
# Offers with terms (the offers work)

OFFER_LETTER = {"filename": "offer-letter.pdf", "content_type": "application/pdf"}
# Statuses that answer (or end) an offer: a warning that it is about to lapse is moot.
OFFER_ANSWERED = frozenset({"accepted", "declined", "withdrawn", "rejected", "hired", "no_show"})


def plan_expiry_warning(offer: dict | None, policy: NotificationPolicy, now: datetime) -> list[Planned]:
    """HR is told `offer_expiry_warning` seconds before an offer expires (at once when that is already past),
    one warning per version of the terms; none for an offer already expired or without terms."""
    if not offer:
        return []
    expires_at = _utc(_maybe_time(offer["expires_at"]))
    if expires_at <= now:
        return []
    delay = max(0, int((expires_at - now).total_seconds()) - policy.offer_expiry_warning)
    return [Planned(NoticeKind.offer_expiry_warning, DIVISION_HR, delay, step=int(offer.get("version") or 1),
                    extra={"offer": offer})]


def plan_new_terms(offer: dict, policy: NotificationPolicy, now: datetime) -> list[Planned]:
    """New terms of an offer the candidate already has: the offer again, with them (one notice per version),
    and HR's warning before the new expiry."""
    version = int(offer.get("version") or 1)
    return [Planned(NoticeKind.offer, CANDIDATE, 0, step=version, extra={"evidence": False, "offer": offer,
                                                                         "new_terms": True}),
            *plan_expiry_warning(offer, policy, now)]


def plan_offer_question(count: int, message: str) -> Planned:
    """A candidate's question about their offer, to division HR (`count`: the question's number, its step)."""
    return Planned(NoticeKind.offer_question, DIVISION_HR, 0, step=count, extra={"question": message})


def newer_offer(stored: dict | None, incoming: dict | None) -> bool:
    return incoming is not None and int(incoming.get("version") or 1) > int((stored or {}).get("version") or 0)


def fmt_amount(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def offer_context(offer: dict | None, locale: str) -> dict[str, Any]:
    """The terms as a template shows them: salary, start dates (ISO, unambiguous everywhere), the expiry in the
    division's zone."""
    if not offer:
        return {"offer": None}
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only offers need it

    salary = offer["salary"]
    zone = offer.get("timezone") or "UTC"
    expires = _utc(_maybe_time(offer["expires_at"])).astimezone(ZoneInfo(zone))
    period = {"en": {"year": "per year", "month": "per month", "hour": "per hour"},
              "zh-CN": {"year": "每年", "month": "每月", "hour": "每小时"}}[locale if locale == "zh-CN" else "en"]
    return {"offer": {
        "salary": f"{salary['currency']} {fmt_amount(salary['amount'])} {period[salary['period']]}",
        "start_dates": [str(d) for d in offer["start_date_options"]],
        "expires": f"{expires:%Y-%m-%d %H:%M} ({zone})",
        "message": offer.get("message"),
        "company": offer.get("company") or "",
        "version": offer.get("version") or 1,
    }}


# ----------------------------------------------------------------------------------------------------
# The contact: one document per application, made by whichever of its events comes first

# Statuses whose change plans notices (plan_status_change): they need the candidate's address, which only
# `application_received` brings. One that arrives first is kept on the contact (`pending`) and planned then.
NOTICE_STATUSES = frozenset({"offered"}) | REJECTING_STATUSES


@dataclass(frozen=True)
class ContactChange:
    """What one event does to an application's contact (`state`: its new state, None for nothing) and to the
    rest of the store: notices to plan for the status held (`plan`: status, decided_at, screening,
    interview), notices still scheduled to cancel, the timing record to update."""

    state: dict[str, Any] | None
    plan: dict[str, Any] | None = None
    cancel_all: bool = False
    drop_unsent_timing: bool = False
    cancel_overdue: bool = False
    record_outcome: bool = False
    cancel_expiry_warning: bool = False  # the offer was answered or ended: HR's warning is moot

    @property
    def touches_others(self) -> bool:
        """Whether more than the contact changes (then the shell writes it with the notices, atomically)."""
        return bool(self.plan or self.cancel_all or self.drop_unsent_timing or self.cancel_overdue
                    or self.record_outcome or self.cancel_expiry_warning)


def is_received(contact: dict | None) -> bool:
    """The application's `application_received` was handled: its contact knows who to write to."""
    return contact is not None and contact.get("received_at") is not None


def may_have_notices(contact: dict) -> bool:
    """Whether notices of this application may exist. `notices` counts those created; contacts from before it
    was kept have none, so anything may be there."""
    return contact.get("notices") != 0


def contact_received(contact: dict | None, fields: dict[str, Any]) -> ContactChange:
    """`application_received`: who to write to. A status that came first and needs notices is planned now.
    A candidate who applied themselves (`self_applied`) is owed an acknowledgement (`ack_due`: the shell
    creates it after this write, then clears the mark)."""
    state = {**(contact or {"notices": 0}), **fields}
    if state.pop("self_applied", False) and not state.get("acknowledged"):
        state.update(ack_due=True, acknowledged=True)
    pending = state.pop("pending", None)
    if pending is not None and state.get("status") in NOTICE_STATUSES:
        return ContactChange(state, plan=pending)
    return ContactChange(state)


def contact_status(contact: dict | None, change: dict[str, Any]) -> ContactChange:
    """`application_status_changed` (`change`: status, at, sequence, tier, urgent, requisition_title, division,
    decided_at, screening, interview). A late older change does nothing; a status that plans notices before
    the application was received waits on the contact (`pending`) for its address."""
    state = dict(contact or {"notices": 0})
    if not supersedes(state.get("status_sequence"), state.get("status_at"), change["sequence"], change["at"]):
        return ContactChange(None)  # an older change delivered late: a newer one was applied already
    status = change["status"]
    state.update({"status": status, "status_at": change["at"], "status_sequence": change["sequence"],
                  "tier": change["tier"], "urgent": change["urgent"],
                  "requisition_title": change["requisition_title"], "division": change["division"]})
    interview = change.get("interview")
    if interview:
        state.update({"interview_average": interview.get("average"),
                      "interview_highlights": interview.get("highlights") or []})
    if newer_offer(state.get("offer"), change.get("offer")):
        state["offer"] = change["offer"]
    state.pop("pending", None)  # a newer status replaces what an older one was waiting to say
    details = {k: change.get(k) for k in ("status", "previous_status", "decided_at", "screening", "interview")}
    if not is_received(state):
        if status in NOTICE_STATUSES:
            state["pending"] = details
        return ContactChange(state)
    earlier = may_have_notices(state)
    return ContactChange(
        state,
        plan=details if status in NOTICE_STATUSES else None,
        cancel_all=earlier and cancels_on_status(status),
        # an overridden screen-out: its rejection, never sent, is not the application's result
        drop_unsent_timing=earlier and status == "shortlisted",
        # the approval chain, if any, is over
        cancel_overdue=earlier and status in ("offered", "rejected"),
        record_outcome=earlier and status in OUTCOME_STATUSES,
        cancel_expiry_warning=earlier and status in OFFER_ANSWERED and bool(state.get("offer")),
    )


def rejection_stage(status: str, previous: str | None) -> dict[str, bool]:
    """Which words a rejection needs (the interviews issue: reject at any stage): nobody met before an interview
    is thanked "for meeting our team"; one whose interview was planned is told it will not take place."""
    return {"screened_out": status == "screened_out" or previous == "shortlisted",
            "interview_planned": status == "rejected" and previous == "interviewing"}


def rejection_delay(status: str, policy: NotificationPolicy) -> int:
    """A screen-out waits `screen_out_rejection_delay`; a rejection after interviews `rejection_delay`."""
    return policy.screen_out_rejection_delay if status == "screened_out" else policy.rejection_delay


def cancels_on_status(status: str) -> bool:
    """Declined, withdrawn or a screen-out overridden: every notice still scheduled is cancelled."""
    return status in CANCELLING_STATUSES


def cancels_on_confirmation(result: str) -> frozenset[str]:
    """The kinds an HR confirmation result cancels (a confirmed offer needs no reminder)."""
    return CONFIRMATION_CANCELS if result == "confirmed" else frozenset()


def step_label(role: str | None, locale: str = "en") -> str:
    labels = STEP_LABELS.get(locale, STEP_LABELS["en"])
    return labels.get(role or "", labels["admin"])


def progress_relevant(application_status: str | None) -> bool:
    """Approval progress is only worth telling while the application still waits for approvals."""
    return application_status is None or application_status in PROGRESS_STATUSES


def plan_approvals_requested(steps: list[dict]) -> Planned | None:
    """Step 0: the result went to the first approval step, expected by its `expected_by`."""
    if not steps:
        return None
    first = min(steps, key=lambda s: s["step"])
    return Planned(NoticeKind.progress, CANDIDATE, 0, step=0, extra={
        "next_role": first.get("role"), "expected_by": first.get("expected_by"), "decided_role": None,
    })


def plan_step_decided(chain_status: str, step: dict, next_step: dict | None) -> Planned | None:
    """A step approved with more to come: tell the candidate which step is next and by when.
    `approved_all` and `rejected` need nothing here: the status change sends the offer or rejection."""
    if chain_status != "pending":
        return None
    return Planned(NoticeKind.progress, CANDIDATE, 0, step=int(step["step"]), extra={
        "next_role": (next_step or {}).get("role", "admin"),
        "expected_by": (next_step or {}).get("expected_by"),
        "decided_role": step.get("role"),
    })


def plan_reengagement() -> Planned:
    return Planned(NoticeKind.reengagement, CANDIDATE, 0)


def plan_acknowledgement() -> Planned:
    """A candidate who applied themselves hears at once that the application arrived, with their portal link."""
    return Planned(NoticeKind.acknowledgement, CANDIDATE, 0)


def plan_community_confirmation(request: int, confirm_url: str) -> Planned:
    """The double opt-in link of a talent-community sign-up: one email per request (`step`), so joining again
    sends it again."""
    return Planned(NoticeKind.community_confirmation, CANDIDATE, 0, step=request, extra={"confirm_url": confirm_url})


def candidate_locale(contact: dict, policy: NotificationPolicy) -> str:
    """The language of a candidate's email: the one they chose when they applied themselves or joined the
    community, else the division's."""
    return contact.get("locale") or policy.locale


def approvers(role: str | None) -> str:
    """Who approves a step: division HR reviews (step role `hr`), group HR approves (`admin`)."""
    return DIVISION_HR if role == "hr" else GROUP_HR


def plan_overdue_reminders(steps: list[dict], now: datetime, decided_steps: set[int] | frozenset[int] = frozenset()
                           ) -> list[Planned]:
    """One `approval_overdue` reminder per pending step, due at its `expected_by`, to its approvers; it is
    cancelled when the step is decided. Steps already decided (their event came first) get none."""
    plans = []
    for step in sorted(steps, key=lambda s: s["step"]):
        if step.get("status", "pending") != "pending" or int(step["step"]) in decided_steps:
            continue
        expected = _maybe_time(step.get("expected_by"))
        delay = max(0, int((_utc(expected) - _utc(now)).total_seconds())) if expected else 0
        plans.append(Planned(NoticeKind.approval_overdue, approvers(step.get("role")), delay, step=int(step["step"]),
                             extra={"step_role": step.get("role"), "expected_by": step.get("expected_by")}))
    return plans


# ----------------------------------------------------------------------------------------------------
# Words


def fmt_time(value: datetime | None, locale: str = "en") -> str | None:
    if value is None:
        return None
    value = _utc(value)
    if locale == "zh-CN":
        return value.strftime("%Y年%m月%d日 %H:%M (UTC)")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def fmt_duration(seconds: int, locale: str = "en") -> str:
    units = [(86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟"), (1, "second", "秒")]
    for size, en, zh in units:
        if seconds >= size and seconds % size == 0 or size == 1:
            n = seconds // size
            if locale == "zh-CN":
                return f"{n} {zh}"
            return f"{n} {en}" + ("" if n == 1 else "s")
    raise AssertionError("unreachable")


def fmt_average(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def base_context(contact: dict, policy: NotificationPolicy, portal_url: str | None,
                 reply_to: str | None = None) -> dict[str, Any]:
    """What every template may use. Candidate templates use `reply_to` (None: nowhere to reply), never
    the ids or `division_hr_email`, which are for HR notices."""
    return {
        "locale": policy.locale,
        "name": contact.get("name") or "",
        "email": contact.get("email") or "",
        "application_id": contact.get("_id"),
        "candidate_id": contact.get("candidate_id"),
        "division": contact.get("division") or "",
        "requisition_title": contact.get("requisition_title") or "",
        "tier": contact.get("tier") or "",
        "urgent": bool(contact.get("urgent")),
        "portal_url": portal_url,
        "division_hr_email": division_hr_email(contact.get("division") or "", policy),
        "group_hr_email": group_hr_email(policy),
        "reply_to": reply_to,
    }


def kind_context(planned: Planned, policy: NotificationPolicy, *, screening: dict | None = None,
                 interview: dict | None = None) -> dict[str, Any]:
    """The extras one kind of notice needs (evidence for an offer, step names for progress...)."""
    locale = policy.locale
    extra = dict(planned.extra)
    ctx: dict[str, Any] = {"kind": str(planned.kind), "step": planned.step}
    if planned.kind == NoticeKind.offer:
        interview = interview or {}
        screening = screening or {}
        ctx.update({
            "evidence": bool(extra.get("evidence")),
            "interview_average": fmt_average(interview.get("average")),
            "by_competency": {k: fmt_average(v) for k, v in (interview.get("by_competency") or {}).items()},
            "highlights": [h for h in (interview.get("highlights") or []) if h],
            "match": screening.get("match"),
            "matched_skills": list(screening.get("matched_skills") or []),
        })
        ctx.update(offer_context(extra.get("offer"), locale), new_terms=bool(extra.get("new_terms")))
    elif planned.kind in (NoticeKind.offer_expiry_warning, NoticeKind.offer_question):
        ctx.update(offer_context(extra.get("offer"), locale), question=extra.get("question"))
    elif planned.kind == NoticeKind.rejection:
        ctx["screened_out"] = bool(extra.get("screened_out"))
        ctx["interview_planned"] = bool(extra.get("interview_planned"))
    elif planned.kind == NoticeKind.progress:
        ctx.update({
            "next_step": step_label(extra.get("next_role"), locale),
            "decided_step": step_label(extra["decided_role"], locale) if extra.get("decided_role") else None,
            "expected_by": fmt_time(_maybe_time(extra.get("expected_by")), locale),
        })
    elif planned.kind == NoticeKind.hr_confirm_reminder:
        ctx["confirm_after"] = fmt_duration(policy.hr_confirm_after, locale)
    elif planned.kind == NoticeKind.confirm_escalation:
        ctx["confirm_within"] = fmt_duration(policy.urgent_confirm_within, locale)
    elif planned.kind == NoticeKind.community_confirmation:
        ctx["confirm_url"] = extra.get("confirm_url")
    elif planned.kind == NoticeKind.guide:
        ctx["guide_after"] = fmt_duration(policy.guide_after, locale)
    elif str(planned.kind) in INTERVIEW_CONTEXT_KINDS:
        # services/notification/interviews.py `context` fills these in; defaults keep every template renderable
        ctx.update({**INTERVIEW_DEFAULTS, **extra})
    elif planned.kind == NoticeKind.mention:
        ctx.update({"who": extra.get("who") or "", "where": extra.get("where") or "", "link": extra.get("link"),
                    "by": extra.get("by")})
    elif planned.kind == NoticeKind.approval_overdue:
        ctx.update({"step_name": step_label(extra.get("step_role"), locale),
                    "expected_by": fmt_time(_maybe_time(extra.get("expected_by")), locale),
                    "approval_sla": fmt_duration(policy.approval_sla, locale)})
    return ctx


INTERVIEW_CONTEXT_KINDS = frozenset({NoticeKind.interview_invitation.value, NoticeKind.interview_cancelled.value,
                                     NoticeKind.interview_slots.value, NoticeKind.interview_reminder.value,
                                     NoticeKind.scorecard_reminder.value})
INTERVIEW_DEFAULTS: dict[str, Any] = {"to_panel": False, "member": "", "update": False, "when": None,
                                      "format": "video", "location": None, "meeting_url": None,
                                      "instructions": None, "slots": [], "lead": None, "scorecard_after": ""}


def reengagement_context(*, requisition_title: str, division: str, reasons: list[str],
                         prior: dict | None) -> dict[str, Any]:
    """Why the candidate was chosen: the reasons given with the request, else their prior application.
    A prior application that ended in a rejection is never quoted (no rejected candidate's score)."""
    prior = prior or {}
    if prior.get("status") in REJECTING_STATUSES:
        prior = {}
    return {
        "kind": NoticeKind.reengagement.value,
        "step": 0,
        "requisition_title": requisition_title,
        "division": division,
        "reasons": [r for r in reasons if r],
        "prior_title": prior.get("requisition_title"),
        "prior_average": fmt_average(prior.get("interview_average")),
        "prior_highlights": list(prior.get("interview_highlights") or []),
    }


def explicit_reasons(raw_payload: dict) -> list[str]:
    """Reasons sent with a re-engagement request, when its producer includes them."""
    reasons = raw_payload.get("reasons")
    if isinstance(reasons, list):
        return [str(r) for r in reasons if isinstance(r, str | int | float) and str(r).strip()]
    reason = raw_payload.get("reason")
    return [reason] if isinstance(reason, str) and reason.strip() else []


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # plain-text email
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class TemplateError(ValueError):
    pass


def split_template(text: str) -> tuple[str, str]:
    """A template file: `Subject: ...`, a blank line, then the body."""
    first, sep, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateError("a notice template starts with a 'Subject:' line")
    if sep and rest and rest.split("\n", 1)[0].strip():
        raise TemplateError("the subject line is followed by a blank line, then the body")
    return first[len("Subject:"):], rest.lstrip("\n")


def render(template_text: str, context: dict[str, Any]) -> Rendered:
    subject_tpl, body_tpl = split_template(template_text)
    try:
        subject = _ENV.from_string(subject_tpl).render(**context)
        body = _ENV.from_string(body_tpl).render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template failed to render: {exc}") from exc
    # One line, no header injection through a name or title.
    subject = " ".join(subject.split())
    lines = [line.rstrip() for line in body.strip("\n").split("\n")]
    compact: list[str] = []
    for line in lines:  # at most one blank line in a row, whatever the template's branches left
        if line or (compact and compact[-1]):
            compact.append(line)
    return Rendered(subject=subject[:250], body="\n".join(compact).strip("\n") + "\n")


# ----------------------------------------------------------------------------------------------------
# Notices


def note_where(locale: str) -> str:
    """Where a note's mention was made, in the reader's words (the mention template's `where`)."""
    return "一条备注" if locale == "zh-CN" else "a note"


def build_notice(planned: Planned, *, notice_id: str, now: datetime, recipient: str, rendered: Rendered,
                 application_id: str | None, candidate_id: str | None, reengagement_id: str | None,
                 division: str | None, tier: str | None, urgent: bool, channel: str = EMAIL,
                 reply_to: str | None = None, attachments: list[dict] | None = None,
                 member_id: str | None = None) -> dict[str, Any]:
    """`attachments`: the names and types of the files the email will carry ({filename, content_type},
    sender.Attachment.describe); their bytes are made when it is sent (why: services/notification/sender.py)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if attachments and channel != EMAIL:
        raise ValueError("only emails carry attachments")
    if any(set(a) != {"filename", "content_type"} for a in attachments or ()):
        raise ValueError("an attachment is described by its filename and content_type only")
    notice = {
        "_id": notice_id,
        "dedupe_key": dedupe_key(application_id, reengagement_id, str(planned.kind), planned.step, member_id),
        "kind": str(planned.kind),
        "channel": channel,
        "recipient": recipient,
        "reply_to": reply_to if channel == EMAIL else None,
        "status": SCHEDULED,
        "scheduled_for": now + timedelta(seconds=planned.delay),
        "sent_at": None,
        "subject": rendered.subject,
        "body": rendered.body,
        "application_id": application_id,
        "candidate_id": candidate_id,
        "reengagement_id": reengagement_id,
        "division": division,
        "tier": tier,
        "urgent": bool(urgent),
        "step": planned.step,
        "attempts": 0,
        "error": None,
        "lease_until": None,
        "created_at": now,
    }
    if attachments:  # absent otherwise: notices without files are stored as they always were
        notice["attachments"] = [dict(a) for a in attachments]
    return notice


def is_due(notice: dict, now: datetime) -> bool:
    return notice["status"] == SCHEDULED and _utc(notice["scheduled_for"]) <= _utc(now)


def backoff_seconds(attempts: int, base: int = BACKOFF_BASE_SECONDS) -> int:
    """base, 4 x base, 16 x base... (5 s, 20 s, 80 s, 320 s by default) after the 1st, 2nd, 3rd failed
    attempt, at most BACKOFF_MAX_SECONDS."""
    return min(base * 4 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def after_failure(attempts: int, error: str, now: datetime, *, backoff_base: int = BACKOFF_BASE_SECONDS,
                  max_attempts: int = MAX_ATTEMPTS, permanent: bool = False) -> dict[str, Any]:
    """The update for a notice whose `attempts`-th sending failed (whatever its channel). A permanent
    failure (a refused destination) fails the notice at once."""
    error = error[:1000]
    if permanent or attempts >= max_attempts:
        return {"status": FAILED, "error": error, "lease_until": None}
    return {"status": SCHEDULED, "error": error, "lease_until": None,
            "scheduled_for": now + timedelta(seconds=backoff_seconds(attempts, backoff_base))}


def notice_view(doc: dict) -> Notice:
    """api-v1's shape, plus what ties the notice to its application, candidate and division."""
    status = doc["status"]
    return Notice.model_validate({
        "id": doc["_id"],
        "kind": doc["kind"],
        "channel": doc.get("channel", CHANNEL),
        "recipient": doc["recipient"],
        "status": SCHEDULED if status == SENDING else status,
        "scheduled_for": iso(doc.get("scheduled_for")),
        "sent_at": iso(doc.get("sent_at")),
        "subject": doc.get("subject"),
        "body": doc.get("body"),
        "application_id": doc.get("application_id"),
        "candidate_id": doc.get("candidate_id"),
        "reengagement_id": doc.get("reengagement_id"),
        "division": doc.get("division"),
        "step": doc.get("step", 0),
        "error": doc.get("error"),
    })


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _maybe_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# ----------------------------------------------------------------------------------------------------
# Measuring the effect of timing: one record per result notice (offer or rejection)

RESULT_KINDS = frozenset({NoticeKind.offer.value, NoticeKind.rejection.value})
# What a candidate did after an offer. `no_show` and `hired` imply they had accepted it.
OUTCOME_STATUSES = frozenset({"accepted", "declined", "no_show", "hired", "withdrawn"})
ACCEPTED_OUTCOMES = frozenset({"accepted", "hired", "no_show"})
IMMEDIATE, DELAYED, AFTER_APPROVAL = "immediate", "delayed", "after_approval"


def result_mode(kind: str, tier: str | None, policy: NotificationPolicy, status: str = "rejected") -> str:
    """How the policy timed a result notice: a basic offer at once, a core offer after approvals, a
    rejection at once or after its delay (`rejection_delay`, or `screen_out_rejection_delay` for the
    rejection of a screen-out, `status`)."""
    if kind == NoticeKind.offer:
        return AFTER_APPROVAL if tier == "core" else IMMEDIATE
    return DELAYED if rejection_delay(status, policy) > 0 else IMMEDIATE


def timing_record(*, application_id: str, kind: str, tier: str | None, urgent: bool, division: str,
                  policy: NotificationPolicy, decided_at: datetime, now: datetime,
                  status: str = "rejected") -> dict[str, Any]:
    """Created with the result notice; `sent_at`, `outcome` and the survey are filled in as they happen."""
    return {
        "_id": application_id,
        "kind": kind,
        "tier": tier,
        "urgent": bool(urgent),
        "division": division,
        "mode": result_mode(kind, tier, policy, status),
        "policy": {"rejection_delay": rejection_delay(status, policy), "survey_after": policy.survey_after},
        "decided_at": decided_at,
        "sent_at": None,
        "delay_seconds": None,
        "outcome": None,
        "outcome_at": None,
        "survey_score": None,
        "survey_comment": None,
        "surveyed_at": None,
        "created_at": now,
    }


def delay_seconds(decided_at: datetime, sent_at: datetime) -> float:
    return round(max(0.0, (_utc(sent_at) - _utc(decided_at)).total_seconds()), 3)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def timing_report(records: list[dict]) -> list[dict[str, Any]]:
    """Per (result kind, tier, mode): how many notices, the median delay from decision to notice, and what
    followed. acceptance_rate = accepted / answered offers (accepted, hired and no_show count as accepted;
    declined and withdrawn as not); no_show_rate = no_show / accepted; the survey average over answers."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["kind"], record.get("tier") or "", record["mode"]), []).append(record)
    rows = []
    for (kind, tier, mode), items in sorted(groups.items()):
        sent = [r for r in items if r.get("sent_at") is not None]
        outcomes = [r["outcome"] for r in items if r.get("outcome")]
        accepted = sum(1 for o in outcomes if o in ACCEPTED_OUTCOMES)
        no_show = sum(1 for o in outcomes if o == "no_show")
        scores = [r["survey_score"] for r in items if r.get("survey_score") is not None]
        median = stats.median([r["delay_seconds"] for r in sent if r.get("delay_seconds") is not None])
        rows.append({
            "kind": kind,
            "tier": tier or None,
            "mode": mode,
            "count": len(items),
            "sent": len(sent),
            "median_delay_seconds": None if median is None else round(median, 3),
            "outcomes": {o: outcomes.count(o) for o in sorted(OUTCOME_STATUSES)},
            "acceptance_rate": _rate(accepted, len(outcomes)) if kind == NoticeKind.offer else None,
            "no_show_rate": _rate(no_show, accepted) if kind == NoticeKind.offer else None,
            "surveys": len(scores),
            "average_survey_score": round(sum(scores) / len(scores), 2) if scores else None,
        })
    return rows
