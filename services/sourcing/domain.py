"""Sourcing rules: what each incoming event does to an application, the moves of the status machine,
candidate de-duplication and the snapshots sourcing publishes. Pure functions, no I/O.

The status machine itself and the preconditions other services check against their copy of the status are
in shared/contracts/status.py (written once; sourcing checks every move against the same table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared import stats
from shared.contracts.commands import MAX_TAGS, CandidateIn, OfferTerms
from shared.contracts.common import AppStatus, normalize_email, normalize_skill
from shared.contracts.events import (
    ApplicationScreened,
    ApplicationStatusChanged,
    ApprovalStepDecided,
    CandidateSnapshot,
    DecisionInfo,
    DecisionRecorded,
    InterviewCancelled,
    InterviewCompleted,
    InterviewScheduled,
    InterviewSlotsOffered,
    InterviewSummary,
    OfferInfo,
    RequisitionSnapshot,
    ScreeningResult,
)
from shared.contracts.status import (  # noqa: F401 - the machine, re-exported for sourcing's readers
    DECIDE,
    DECIDE_FAIL,
    OVERRIDE_ONLY,
    OVERRIDE_SCREENING,
    SCHEDULE_INTERVIEW,
    TERMINAL,
    TRANSITIONS,
    can_move,
    is_terminal,
)
from shared.crypto import lookup, seal
from shared.erasure import ERASED, PARTIES
from shared.errors import Conflict, Invalid
from shared.timeutil import parse

S = AppStatus

# Where a decision may send an interviewed application.
DECISION_TARGETS: frozenset[str] = frozenset({S.awaiting_approval, S.offered, S.rejected})
CONFIRMABLE: frozenset[str] = frozenset({S.offered, S.accepted})


# ----------------------------------------------------------------------------------------------------
# What an incoming event does


@dataclass(frozen=True)
class Next:
    """The effect of an event on an application's status.

    `status`: move there; `wait`: an earlier event this one depends on has not been applied yet, so
    the event must be retried later; neither: record the data, leave the status alone."""

    status: str | None = None
    wait: bool = False
    reason: str = ""


STAY = Next()


def after_screening(current: str, result: ScreeningResult) -> Next:
    target = S.shortlisted if result.passed else S.screened_out
    if current == S.received:
        return Next(target)
    # The same precondition screening checks before it accepts an override.
    if result.override and OVERRIDE_SCREENING.allows(current) and current != target:
        return Next(target)
    return STAY


def after_interview_scheduled(current: str) -> Next:
    if SCHEDULE_INTERVIEW.allows(current):  # what interview_feedback checked before scheduling
        return Next(S.interviewing)
    if current == S.received:
        return Next(wait=True, reason="the screening result has not been applied yet")
    return STAY


def after_interview_cancelled(current: str, app: dict, payload: InterviewCancelled) -> Next:
    """Back to shortlisted when the application's current interview is called off. A cancellation that comes
    with a rejection leaves the status to the decision; one of an interview this application has not been
    told of yet waits for it (its scheduling comes first)."""
    if payload.by_rejection:
        return STAY
    if payload.interview_id not in seen_interviews(app):
        if current in (S.received, S.shortlisted):
            return Next(wait=True, reason="the interview has not been scheduled here yet")
        return STAY
    if current == S.interviewing and app.get("interview_id") == payload.interview_id:
        return Next(S.shortlisted)
    return STAY


def seen_interviews(app: dict) -> list[str]:
    """The interviews of this application sourcing has heard of (scheduled, offered or cancelled)."""
    return list(app.get("interviews_seen") or ([app["interview_id"]] if app.get("interview_id") else []))


def record_interview(app: dict, interview_id: str, panel: list[str] | None = None) -> bool:
    """Note an interview scheduled (or offered) for the application, and its panel when known (its interviewers
    may read the application's documents); False for one already cancelled (a late event: it must not move the
    application again)."""
    if interview_id in (app.get("interviews_cancelled") or []):
        return False
    if panel is not None:
        app["panel"] = panel
    app["interview_id"] = interview_id
    app["interviews_seen"] = [*[i for i in seen_interviews(app) if i != interview_id], interview_id]
    return True


def record_cancellation(app: dict, interview_id: str) -> None:
    app["interviews_cancelled"] = [*(app.get("interviews_cancelled") or []), interview_id]


def after_interview_completed(current: str) -> Next:
    if current == S.interviewing:
        return Next(S.interviewed)
    if current in (S.received, S.shortlisted):
        return Next(wait=True, reason="the interview has not been scheduled here yet")
    return STAY


def after_decision(current: str, next_status: str) -> Next:
    if next_status not in DECISION_TARGETS:
        raise ValueError(f"a decision cannot move an application to '{next_status}'")
    if DECIDE.allows(current):  # what interview_feedback checked before deciding
        return Next(next_status)
    if next_status == S.rejected and DECIDE_FAIL.allows(current):  # a fail at any stage (the interviews issue)
        return Next(next_status)
    if current in (S.received, S.shortlisted, S.interviewing):
        return Next(wait=True, reason="the interview has not been completed here yet")
    return STAY


def after_approval(current: str, chain_status: str) -> Next:
    if chain_status == "pending":
        return STAY
    if chain_status not in ("approved_all", "rejected"):
        raise ValueError(f"unknown approval chain status '{chain_status}'")
    if current == S.awaiting_approval:
        return Next(S.offered if chain_status == "approved_all" else S.rejected)
    if current in (S.received, S.shortlisted, S.interviewing, S.interviewed):
        return Next(wait=True, reason="the decision has not been applied here yet")
    return STAY


def next_status_for_event(event_type: str, current: str, payload: Any, app: dict | None = None) -> Next:
    """The one place that decides what each consumed event does to an application's status (`app`: the
    application as stored, for what depends on its interviews)."""
    if event_type == "application_screened":
        assert isinstance(payload, ApplicationScreened)
        return after_screening(current, payload.result)
    if event_type == "interview_scheduled":
        assert isinstance(payload, InterviewScheduled)
        return after_interview_scheduled(current)
    if event_type == "interview_slots_offered":  # self-scheduling: interviewing from the offer on
        assert isinstance(payload, InterviewSlotsOffered)
        return after_interview_scheduled(current)
    if event_type == "interview_completed":
        assert isinstance(payload, InterviewCompleted)
        return after_interview_completed(current)
    if event_type == "decision_recorded":
        assert isinstance(payload, DecisionRecorded)
        return after_decision(current, payload.next_status)
    if event_type == "approval_step_decided":
        assert isinstance(payload, ApprovalStepDecided)
        return after_approval(current, payload.chain_status)
    if event_type == "interview_cancelled":
        assert isinstance(payload, InterviewCancelled)
        return after_interview_cancelled(current, app or {}, payload)
    raise ValueError(f"sourcing does not handle '{event_type}'")


def keep_screening(stored: dict | None, incoming: ScreeningResult) -> bool:
    """Whether to store `incoming`: a late machine verdict never replaces a person's override, and an
    older override never replaces a newer one."""
    if not stored or not stored.get("override"):
        return True
    if not incoming.override:
        return False
    return str(incoming.override.get("at") or "") >= str(stored["override"].get("at") or "")


# ----------------------------------------------------------------------------------------------------
# Commands


def outcome_status(current: str, outcome: str) -> str:
    if outcome in (S.hired, S.no_show):
        if current == S.accepted:
            return outcome
        raise Conflict(f"'{outcome}' can only be recorded for an accepted offer; the application is "
                       f"{current}", code="invalid_transition")
    if outcome == S.withdrawn:
        if not is_terminal(current):
            return S.withdrawn
        raise Conflict(f"the application is already {current}; it cannot be withdrawn", code="invalid_transition")
    raise Conflict(f"unknown outcome '{outcome}'", code="invalid_transition")


def response_status(current: str, response: str) -> str:
    if current != S.offered:
        raise Conflict(f"there is no open offer to respond to; the application is {current}", code="invalid_status")
    if response == "accept":
        return S.accepted
    if response == "decline":
        return S.declined
    raise Conflict(f"unknown response '{response}'", code="invalid_status")


# ----------------------------------------------------------------------------------------------------
# Tags (the board, issue 20): recruiters' labels, normalised by the contract (cmd.Tag)


def retag(tags: list[str], add: list[str], remove: list[str], by: str, at: datetime) -> tuple[list[str], dict | None]:
    """The tags after adding `add` and removing `remove`, in the order first added, and the history entry of
    the change (None when nothing changes: a retry, or a tag already there). At most MAX_TAGS on one
    application (else 422 naming `add`)."""
    current = list(dict.fromkeys(tags))
    added = [t for t in dict.fromkeys(add) if t not in current]
    removed = [t for t in dict.fromkeys(remove) if t in current]
    after = [t for t in current if t not in removed] + added
    if len(after) > MAX_TAGS:
        raise Invalid(f"add: an application holds at most {MAX_TAGS} tags", field="add")
    if not added and not removed:
        return current, None
    return after, {"at": at, "by": by, "added": added, "removed": removed}


# ----------------------------------------------------------------------------------------------------
# Offers with terms (the offers work; docs/decisions/007-offers.md)

# A passed application whose offer may be given terms: offered (a basic role, or a core one approved), or
# waiting for its approvals (a core role: set before the last approval, shown once approved).
OFFER_SETTABLE: frozenset[str] = frozenset({S.offered, S.awaiting_approval})
# Statuses in which the candidate sees the offer's terms (never while the approvals are pending).
OFFER_VISIBLE: frozenset[str] = frozenset({S.offered, S.accepted, S.declined, S.hired, S.no_show})


def check_offer_settable(current: str) -> None:
    if current not in OFFER_SETTABLE:
        raise Conflict(f"an offer's terms are set on a passed application (offered, or awaiting_approval for a "
                       f"core role); this one is {current}", code="invalid_status")


def new_offer(terms: OfferTerms, previous: dict | None, *, company: str, timezone: str, by: str | None,
              now: datetime) -> dict:
    """The offer as stored on the application: the terms, the letter's company and zone, who set them; a
    second set replaces the terms and raises `version`."""
    return {
        "version": (previous or {}).get("version", 0) + 1,
        "salary": terms.salary.model_dump(mode="json"),
        "start_date_options": [d.isoformat() for d in terms.start_date_options],
        "expires_at": terms.expires_at.astimezone(UTC),
        "message": terms.message,
        "company": company,
        "timezone": timezone,
        "set_at": now,
        "set_by": by,
        "accepted_start_date": None,
        "decline_reason": None,
    }


def offer_expired(offer: dict | None, now: datetime) -> bool:
    return offer is not None and _aware(offer["expires_at"]) <= now


def check_answer(offer: dict | None, response: str, start_date: date | None, now: datetime) -> None:
    """What an offer's terms ask of the candidate's answer: an accept of an offer with terms names one of its
    start dates (422 `start_date`) before it expires (409 `offer_expired`); an offer made without terms (a
    basic role's, before this work) is accepted as before, and takes no start date."""
    if response != "accept":
        return
    if offer is None:
        if start_date is not None:
            raise Invalid("start_date: this offer has no start dates to choose from", field="start_date")
        return
    if offer_expired(offer, now):
        raise Conflict(f"the offer expired at {offer['expires_at'].isoformat()}; ask HR to renew it",
                       code="offer_expired")
    options = offer["start_date_options"]
    if start_date is None:
        raise Invalid(f"start_date: choose one of {', '.join(options)}", field="start_date")
    if start_date.isoformat() not in options:
        raise Invalid(f"start_date: {start_date.isoformat()} is not among the offered dates ({', '.join(options)})",
                      field="start_date")


def check_question(current: str) -> None:
    if current != S.offered:
        raise Conflict(f"questions about an offer are sent while it is open; the application is {current}",
                       code="invalid_status")


def offer_info(offer: dict) -> OfferInfo:
    return OfferInfo(version=offer["version"], salary=offer["salary"],
                     start_date_options=[date.fromisoformat(d) for d in offer["start_date_options"]],
                     expires_at=_aware(offer["expires_at"]), message=offer.get("message"),
                     company=offer.get("company") or "", timezone=offer.get("timezone") or "UTC",
                     set_at=offer.get("set_at"))


def offer_terms_detail(offer: dict, by: str | None) -> str:
    who = f" by {by}" if by else ""
    return (f"Offer terms set{who} (version {offer['version']}): {offer['salary']['currency']} "
            f"{offer['salary']['amount']:g} per {offer['salary']['period']}, start "
            f"{' / '.join(offer['start_date_options'])}, expires {offer['expires_at'].isoformat()}")


def check_confirmable(current: str) -> None:
    if current not in CONFIRMABLE:
        raise Conflict(f"a phone confirmation is only recorded for an offered or accepted application; "
                       f"this one is {current}", code="invalid_status")


def unknown_answers(answers: dict[str, bool], knockout_questions: list[dict]) -> list[str]:
    """Answer ids that name none of the requisition's knock-out questions, in the order given."""
    known = {q.get("id") for q in knockout_questions}
    return [qid for qid in answers if qid not in known]


def unanswered(answers: dict[str, bool], knockout_questions: list[dict]) -> list[str]:
    """Knock-out questions a candidate applying themselves left unanswered, in the requisition's order."""
    return [q["id"] for q in knockout_questions if q.get("id") not in answers]


def posted(req: dict, now: datetime) -> bool:
    """Whether a requisition is on the careers site: published, open, and `closes_at` not passed (the careers
    issue; the stored fields may still be missing on a requisition from before it)."""
    if not req.get("published") or req.get("status") != "open":
        return False
    closes_at = req.get("closes_at")
    return closes_at is None or parse(closes_at) > now


# ----------------------------------------------------------------------------------------------------
# Documents (a CV or another file of an application; the bytes are in GridFS, sealed)

PENDING = "pending"
CANDIDATE = "candidate"  # who uploaded a file a candidate sent with their own application


def new_document(document_id: str, app: dict, *, kind: str, filename: str, content_type: str, size: int,
                 uploaded_by: str, at: datetime) -> dict:
    """What is known of a stored file before it is read. `filename` arrives sealed (it often holds a name)."""
    return {"_id": document_id, "application_id": app["_id"], "candidate_id": app["candidate_id"],
            "requisition_id": app["requisition_id"], "division": app["division"], "kind": kind,
            "filename": filename, "content_type": content_type, "size": size, "uploaded_at": at,
            "uploaded_by": uploaded_by, "text_status": PENDING, "text": None, "skills_found": [],
            "years_found": None, "unreadable_reason": None, "read_at": None}


def safe_filename(name: str, document_id: str, extension: str) -> str:
    """A download's name: the uploaded name's letters, digits and `._-` (other scripts kept, separators,
    quotes and controls gone) with the type's extension; the id when nothing is left."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem).strip("_.")[:100]
    return f"{kept or document_id}{extension}"


def can_read_documents(caller_role: str, caller_name: str, can_see: bool, app: dict) -> bool:
    """Staff of the application's division read its files; an interviewer only those of an application whose
    panel it sits on (sourcing keeps the panel's names from `interview_scheduled`)."""
    if not can_see:
        return False
    if caller_role == "interviewer":
        return caller_name in (app.get("panel") or [])
    return True


def with_panel(app: dict, interviewers: list[str]) -> list[str]:
    """The application's panel after an interview is scheduled: everyone who sat on any of its panels."""
    return list(dict.fromkeys([*(app.get("panel") or []), *interviewers]))


# ----------------------------------------------------------------------------------------------------
# Timeline


def timeline_entry(at: datetime, status: str, detail: str) -> dict:
    return {"at": at, "status": str(status), "detail": detail}


def new_application(application_id: str, req: dict, candidate_id: str, *, source: str, answers: dict[str, bool],
                    talent_pool_consent: bool, detail: str, submitted_by: str, at: datetime,
                    reengagement_id: str | None = None) -> dict:
    """A received application to requisition `req` (a stored requisition), as stored."""
    return {
        "_id": application_id,
        "requisition_id": req["_id"],
        "requisition_title": req["title"],
        "candidate_id": candidate_id,
        "division": req["division"],
        "department": req["department"],
        "tier": req["tier"],
        "urgent": req["urgent"],
        "source": source,
        "status": AppStatus.received.value,
        "answers": dict(answers),
        "talent_pool_consent": talent_pool_consent,
        "screening": None,
        "interview_id": None,
        "interview": None,
        "decision": None,
        "confirmation": None,
        "reengagement_id": reengagement_id,
        "timeline": [timeline_entry(at, AppStatus.received, detail)],
        "created_at": at,
        "updated_at": at,
        "submitted_by": submitted_by,
    }


def move(app: dict, new_status: str, detail: str, at: datetime, *, override: bool = False) -> str:
    """Move `app` (a stored application) to `new_status` in place; returns the previous status."""
    previous = app["status"]
    if not can_move(previous, new_status, override=override):
        raise Conflict(f"an application cannot go from {previous} to {new_status}", code="invalid_transition")
    app["status"] = str(new_status)
    app["timeline"].append(timeline_entry(at, new_status, detail))
    app["updated_at"] = at
    return previous


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:g}"


def screening_detail(result: ScreeningResult) -> str:
    if result.override:
        verdict = "passed" if result.passed else "screened out"
        by, why = result.override.get("by", "someone"), result.override.get("reason", "")
        return f"Screening overridden by {by}: {verdict}" + (f" ({why})" if why else "")
    if result.passed:
        return f"Screening passed: score {result.score}, match {result.match}%"
    first = result.reasons[0] if result.reasons else ""
    return f"Screened out: score {result.score}, match {result.match}%" + (f". {first}" if first else "")


def interview_scheduled_detail(payload: InterviewScheduled) -> str:
    return f"Interview {payload.interview_id} scheduled with {', '.join(payload.interviewers)}"


def interview_offered_detail(payload: InterviewSlotsOffered) -> str:
    return (f"Interview {payload.interview_id}: {len(payload.interview.slots)} times offered to the candidate, "
            f"with {', '.join(payload.interview.interviewers)}")


def interview_cancelled_detail(payload: InterviewCancelled) -> str:
    return f"Interview {payload.interview_id} cancelled by {payload.cancelled_by}: {payload.reason}"


def interview_completed_detail(summary: InterviewSummary) -> str:
    return f"Interview complete: average {_fmt(summary.average)}"


def decision_detail(decision: DecisionInfo, next_status: str) -> str:
    by = f" by {decision.decided_by}" if decision.decided_by else ""
    tail = {
        S.awaiting_approval: "; awaiting approval",
        S.offered: "; offer made",
        S.rejected: "",
    }.get(next_status, "")
    return f"Decision: {decision.outcome}{by}{tail}"


def approval_detail(payload: ApprovalStepDecided) -> str:
    by = f" by {payload.step.decided_by}" if payload.step.decided_by else ""
    if payload.chain_status == "approved_all":
        return f"All approvals given (last: step {payload.step.step}{by}); offer made"
    return f"Rejected at approval step {payload.step.step}{by}"


def outcome_detail(outcome: str, by: str) -> str:
    return {
        S.hired: f"Hired (recorded by {by})",
        S.no_show: f"Did not show up (recorded by {by})",
        S.withdrawn: f"Withdrawn (recorded by {by})",
    }.get(outcome, f"{outcome} (recorded by {by})")


def response_detail(new_status: str, start_date: date | None = None) -> str:
    if new_status == S.accepted:
        return "Candidate accepted the offer" + (f", starting {start_date.isoformat()}" if start_date else "")
    return "Candidate declined the offer"


def confirmation_detail(result: str) -> str:
    return f"HR phone confirmation: {result}"


def received_detail(source: str) -> str:
    return f"Applied via {source}"


FAST_TRACK_RECEIVED = "Re-engaged from the talent pool"


def fast_track_interviewed_detail(prior_application_id: str) -> str:
    return f"Prior interview from application {prior_application_id} reused (fast track)"


def start_with_reused_interview(app: dict, reused: dict, prior_application_id: str, at: datetime) -> str:
    """Fast track: a re-engaged candidate's new application skips to `interviewed` with the prior
    interview attached (the one move outside the ordinary machine). Returns the previous status."""
    previous = app["status"]
    if previous != S.received:
        raise Conflict(f"only a new application can reuse an interview; this one is {previous}",
                       code="invalid_transition")
    app["interview"] = reused
    app["status"] = S.interviewed.value
    app["timeline"].append(timeline_entry(at, S.interviewed, fast_track_interviewed_detail(prior_application_id)))
    app["updated_at"] = at
    return previous


def reused_interview(prior_summary: dict, prior_application_id: str) -> dict:
    """The prior application's interview summary, marked as reused, JSON-ready."""
    summary = InterviewSummary.model_validate(prior_summary)
    return summary.model_copy(update={"reused_from_application_id": prior_application_id}).model_dump(mode="json")


# ----------------------------------------------------------------------------------------------------
# Candidates


def candidate_key(email: str) -> str:
    """One person is one candidate: the de-duplication key is the keyed hash of the normalised email (the
    address itself is stored sealed, shared/crypto.py)."""
    return lookup(normalize_email(email))


def skill_keys(skills: list[str]) -> list[str]:
    """Normalised skills, de-duplicated, in first-seen order (for matching and searching)."""
    return list(dict.fromkeys(normalize_skill(s) for s in skills))


# What a division records about a person (docs/decisions/002-candidates-per-division.md): one profile per
# (candidate, division); the candidate itself is only the identity (id, email_key).
PROFILE_FIELDS = ("name", "email", "phone", "skills", "skill_keys", "years_experience", "location", "name_key",
                  "phone_key")


def profile_id(candidate_id: str, division: str) -> str:
    return f"{candidate_id}|{division}"


# -- search (issue 20, docs/decisions/008-candidate-search.md) ----------------------------------------------
PHONE_TERM = re.compile(r"^[0-9+()\-. ]+$")
MIN_PHONE_DIGITS = 3


def name_key(name: str) -> str:
    """A name as the prefix search compares it: case folded, spaces collapsed (`Ann  Lee` finds `ann l`)."""
    return " ".join(name.split()).casefold()


def phone_digits(phone: str | None) -> str | None:
    """A phone number as exact search compares it: its digits (`+44 20 7946-0321` is `442079460321`)."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def phone_key(phone: str | None) -> str | None:
    """The blind index of a phone number (a keyed hash, as the email's: the number itself stays sealed)."""
    digits = phone_digits(phone)
    return lookup("phone:" + digits) if digits else None


def search_terms(q: str) -> tuple[str, Any]:
    """What a search term asks: ("email", blind index) for an address, ("phone", blind index) for a number,
    else ("text", (name prefix, skill)) for the beginning of a name or a skill. Every term is literal: the
    store escapes it (a `.` or `*` typed is that character)."""
    q = q.strip()
    if "@" in q:
        return "email", candidate_key(q)
    if PHONE_TERM.match(q) and phone_digits(q):
        return "phone", phone_key(q)
    return "text", (name_key(q), normalize_skill(q))


def matched_by(kind: str, terms: Any, profile: dict) -> str:
    """Which part of a found profile the term matched (a name prefix wins over a skill of the same word)."""
    if kind != "text":
        return kind
    prefix, _skill = terms
    return "name" if (profile.get("name_key") or name_key(profile.get("name") or "")).startswith(prefix) else "skill"


def profile_update(cand: CandidateIn) -> dict:
    """The fields an application sets on its division's profile of the candidate: that division's latest
    application wins. Optional fields left out of the request keep the stored value; given ones (even
    null) replace it."""
    update = {
        "name": cand.name,
        "name_key": name_key(cand.name),
        "email": seal(cand.email),
        "skills": list(cand.skills),
        "skill_keys": skill_keys(cand.skills),
        "years_experience": cand.years_experience,
    }
    if "phone" in cand.model_fields_set:
        update["phone"] = seal(cand.phone)
        update["phone_key"] = phone_key(cand.phone)
    if "location" in cand.model_fields_set:
        update["location"] = cand.location
    return update


def legacy_profile(cand: dict | None) -> dict | None:
    """The profile a candidate stored before per-division profiles kept on the candidate itself (one for
    every division, the latest application's); None for a candidate stored since, or erased."""
    if not cand or cand.get("erasure_id") or "name" not in cand:
        return None
    return {field: cand.get(field) for field in PROFILE_FIELDS}


def division_profile(candidate_id: str, division: str, stored: dict | None, legacy: dict | None, update: dict,
                     at: datetime) -> dict:
    """The division's profile after an application: its stored profile (else the legacy one, for a candidate
    from before profiles per division) with the application's fields on top."""
    base = {field: value for field, value in (stored or legacy or {}).items() if field in PROFILE_FIELDS}
    return {"_id": profile_id(candidate_id, division), "candidate_id": candidate_id, "division": division,
            **base, **update, "created_at": (stored or {}).get("created_at") or at, "updated_at": at}


def profile_for_view(profiles: list[dict], legacy: dict | None) -> dict | None:
    """What a reader sees of a person: the most recently updated of the profiles of the divisions it may
    see (a one-division reader: its own); the legacy profile when none of them has one of its own yet."""
    if profiles:
        return max(profiles, key=lambda p: (p["updated_at"], p["_id"]))
    return legacy


def candidate_snapshot(profile: dict) -> CandidateSnapshot:
    """What events carry about the candidate (one division's profile): email and phone stay sealed as stored."""
    return CandidateSnapshot(
        name=profile["name"], email=profile["email"], phone=profile.get("phone"),
        skills=list(profile.get("skills") or []), years_experience=profile.get("years_experience") or 0,
        location=profile.get("location"),
    )


# ----------------------------------------------------------------------------------------------------
# Requisitions as postings (the careers issue): what an edit changes, the history, what the public sees

# A requisition's history: who did what (RequisitionChange); an edit names the fields it changed.
CREATED, EDITED, PUBLISHED, UNPUBLISHED, CLOSED = "created", "edited", "published", "unpublished", "closed"
SYSTEM = "system"  # the `by` of what a timer did
# Fields a PATCH may clear with `null`; every other one needs a value (null is a 422 naming it).
NULLABLE = frozenset({"location", "salary_range", "closes_at"})
# Stored for the careers site's reads: one lower-case text to search (no $or over four fields: a collection
# scan on the embedded store), and the moment it stops showing (closes_at, or never) as one comparable field.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def change_entry(at: datetime, by: str, action: str, fields: list[str] | None = None) -> dict:
    return {"at": at, "by": by, "action": action, "fields": list(fields or [])}


def search_text(req: dict) -> str:
    """What `q` searches: title, department, skills and description, lower-cased (casefold would change
    lengths, and the query is lower-cased the same way)."""
    parts = [req.get("title") or "", req.get("department") or "", *(req.get("required_skills") or []),
             *(req.get("skills") or []), req.get("description") or ""]
    return "\n".join(parts).lower()


def with_public_fields(req: dict) -> dict:
    """The stored helpers of the careers site's reads, from the requisition's own fields."""
    closes_at = req.get("closes_at")
    req["search_text"] = search_text(req)
    req["location_key"] = (req.get("location") or "").lower()
    req["public_until"] = closes_at or NEVER
    return req


def has_passed(closes_at: datetime | None, now: datetime) -> bool:
    return closes_at is not None and _aware(closes_at) <= now


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _check_closes_at(closes_at: datetime | None, now: datetime) -> None:
    if has_passed(closes_at, now):
        raise Invalid("closes_at: must be in the future (or null: open until closed)", field="closes_at")


def new_requisition(requisition_id: str, fields: dict, by: str, now: datetime) -> dict:
    """A requisition as stored, from a create command's fields (its posting fields included, `closes_at` a
    datetime); a requisition created published is published from the start."""
    _check_closes_at(fields.get("closes_at"), now)
    doc = {"_id": requisition_id, "status": "open", **fields, "created_at": now, "created_by": by,
           "closed_at": None, "close_reason": None, "updated_at": now, "published_at": None,
           "history": [change_entry(now, by, CREATED)]}
    if doc.get("published"):
        doc["published_at"] = now
        doc["history"].append(change_entry(now, by, PUBLISHED))
    return with_public_fields(doc)


def patch_requisition(req: dict, changes: dict, by: str, now: datetime) -> tuple[dict, list[str]]:
    """The requisition after a PATCH and the fields that changed. `changes` holds only the fields the caller
    sent (`model_fields_set`), in stored form. A field sent with the value it has changes nothing, and a PATCH
    that changes nothing writes nothing (a retry is harmless).

    A closed requisition is a record: any real change is 409 `requisition_closed` (it cannot be published
    again, and what it said while open stays what it said); an edit of a published one applies at once."""
    for name, value in changes.items():
        if value is None and name not in NULLABLE:
            raise Invalid(f"{name}: may not be null", field=name)
    changed = [name for name, value in changes.items() if req.get(name) != value]
    if not changed:
        return req, []
    if req["status"] != "open":
        raise Conflict(f"requisition {req['_id']} is closed; it can no longer be edited", code="requisition_closed")
    if "closes_at" in changed:
        _check_closes_at(changes["closes_at"], now)
    out = {**req, **{name: changes[name] for name in changed}, "updated_at": now,
           "history": list(req.get("history") or [])}
    edited = [name for name in changed if name != "published"]
    if edited:
        out["history"].append(change_entry(now, by, EDITED, edited))
    if "published" in changed:
        if out["published"]:
            if has_passed(out.get("closes_at"), now):
                raise Invalid("closes_at: has passed; set a later one (or null) to publish again", field="closes_at")
            out["published_at"] = now
        out["history"].append(change_entry(now, by, PUBLISHED if out["published"] else UNPUBLISHED))
    return with_public_fields(out), changed


def closing_entries(req: dict, by: str, now: datetime) -> list[dict]:
    """What closing adds to the history: closed, and unpublished when it was on the careers site."""
    entries = [change_entry(now, by, CLOSED)]
    if req.get("published"):
        entries.append(change_entry(now, by, UNPUBLISHED))
    return entries


# ----------------------------------------------------------------------------------------------------
# Divisions as records (their careers page's name, blurb and colour)

DEFAULT_COLOUR, DEFAULT_TIMEZONE, DEFAULT_LOCALE = "#1f6f5c", "UTC", "en"
DIVISION_FIELDS = ("name", "timezone", "locale", "careers_blurb", "colour", "meeting_url_template")


def default_division(division_id: str) -> dict:
    """A division with no record yet reads as its id, UTC, `en` and the default colour."""
    return {"_id": division_id, "name": division_id, "timezone": DEFAULT_TIMEZONE, "locale": DEFAULT_LOCALE,
            "careers_blurb": "", "colour": DEFAULT_COLOUR, "meeting_url_template": None, "created_at": None,
            "updated_at": None}


def check_timezone(name: str) -> None:
    """An IANA time zone name the zone database knows (`Asia/Shanghai`), else 422 naming `timezone`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Invalid(f"timezone: '{name}' is not an IANA time zone (e.g. Europe/Berlin, Asia/Shanghai)",
                      field="timezone") from None


def new_division(fields: dict, now: datetime) -> dict:
    check_timezone(fields["timezone"])
    return {**default_division(fields["id"]), **{f: fields[f] for f in DIVISION_FIELDS if f in fields},
            "created_at": now, "updated_at": now}


def patch_division(stored: dict, changes: dict, now: datetime) -> dict:
    """A division record after a PATCH (`changes`: the fields sent); every field needs a value."""
    for name, value in changes.items():
        if value is None and name != "meeting_url_template":  # the one optional field: null clears it
            raise Invalid(f"{name}: may not be null", field=name)
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    return {**stored, **changes, "created_at": stored.get("created_at") or now, "updated_at": now}


# ----------------------------------------------------------------------------------------------------
# Snapshots


def requisition_snapshot(req: dict) -> RequisitionSnapshot:
    return RequisitionSnapshot(
        id=req["_id"], title=req["title"], division=req["division"], department=req["department"],
        tier=req["tier"], urgent=req["urgent"], required_skills=req["required_skills"], skills=req["skills"],
        min_years=req["min_years"], location=req.get("location"), headcount=req["headcount"],
        knockout_questions=req.get("knockout_questions") or [], status=req["status"], created_at=req["created_at"],
    )


def status_changed(app: dict, previous: str | None) -> ApplicationStatusChanged:
    """The application as it now stands, after its latest timeline entry; no personal data."""
    last = app["timeline"][-1]
    return ApplicationStatusChanged(
        sequence=len(app["timeline"]),  # one entry per change: the projections' order (shared/contracts/status.py)
        application_id=app["_id"],
        candidate_id=app["candidate_id"],
        requisition_id=app["requisition_id"],
        requisition_title=app["requisition_title"],
        division=app["division"],
        department=app.get("department", ""),
        tier=app["tier"],
        urgent=app.get("urgent", False),
        source=app["source"],
        talent_pool_consent=app.get("talent_pool_consent", False),
        previous_status=previous,
        status=app["status"],
        detail=last["detail"],
        at=last["at"],
        screening=ScreeningResult.model_validate(app["screening"]) if app.get("screening") else None,
        interview=InterviewSummary.model_validate(app["interview"]) if app.get("interview") else None,
        decision=DecisionInfo.model_validate(app["decision"]) if app.get("decision") else None,
        reengagement_id=app.get("reengagement_id"),
        offer=offer_info(app["offer"]) if app.get("offer") else None,
    )


# ----------------------------------------------------------------------------------------------------
# Right to erasure and retention (shared/erasure.py describes the whole flow)

ERASURE_IN_PROGRESS, ERASURE_COMPLETED = "in_progress", "completed"
# Applications that ended without a hire; only these ever expire (hired people are employees now).
ENDED_WITHOUT_HIRE = frozenset({AppStatus.screened_out, AppStatus.rejected, AppStatus.declined, AppStatus.no_show,
                                AppStatus.withdrawn})


def new_erasure(erasure_id: str, candidate_id: str, application_ids: list[str], reason: str, requested_by: str,
                now: datetime) -> dict:
    return {"_id": erasure_id, "candidate_id": candidate_id, "application_ids": list(application_ids),
            "reason": reason, "requested_by": requested_by, "requested_at": now, "status": ERASURE_IN_PROGRESS,
            "completed_at": None, "parties": {p: {"status": "pending", "at": None, "counts": {}} for p in PARTIES}}


def confirm_party(erasure: dict, party: str, counts: dict[str, int], at: datetime) -> dict:
    """One service (or the gateway) confirmed its part; complete when every party has. A repeated
    confirmation keeps the first one's time and adds nothing."""
    if party not in PARTIES:
        raise ValueError(f"unknown erasure party {party!r}")
    parties = dict(erasure["parties"])
    if parties[party]["status"] != "done":
        parties[party] = {"status": "done", "at": at, "counts": dict(counts)}
    done = all(p["status"] == "done" for p in parties.values())
    return {**erasure, "parties": parties,
            "status": ERASURE_COMPLETED if done else ERASURE_IN_PROGRESS,
            "completed_at": erasure.get("completed_at") or (at if done else None)}


def anonymised_candidate(candidate_id: str, erasure_id: str, now: datetime) -> dict:
    """What is left of an erased candidate: the id (applications point at it) and when it was erased. The
    look-up key is replaced, so the same address applying again is a new candidate."""
    return {"_id": candidate_id, "name": ERASED, "email": None, "phone": None, "email_key": f"erased:{candidate_id}",
            "skills": [], "skill_keys": [], "years_experience": None, "location": None,
            "erasure_id": erasure_id, "erased_at": now}


def anonymised_application(app: dict) -> dict:
    """Statuses, times, source, division, scores and the decision's outcome stay (the reports' figures);
    answers and every free text about the person go."""
    out = {**app, "answers": {}, "erased": True, "cover_note": None, "panel": [],
           "timeline": [{**e, "detail": ERASED} for e in app.get("timeline") or []]}
    if app.get("screening"):
        out["screening"] = {**app["screening"], "reasons": [], "matched_skills": [], "missing_skills": [],
                            "skills_from_cv": [], "override": None}
    if app.get("interview"):
        out["interview"] = {**app["interview"], "highlights": []}
    if app.get("decision"):
        out["decision"] = {**app["decision"], "note": None}
    if app.get("confirmation"):
        out["confirmation"] = {**app["confirmation"], "note": None}
    if app.get("offer"):  # the candidate's own words about the offer go; its terms are the company's
        out["offer"] = {**app["offer"], "decline_reason": None}
    if app.get("offer_questions"):
        out["offer_questions"] = []
    return out


@dataclass(frozen=True)
class Retention:
    """How long a division keeps candidates whose applications ended without a hire, in days: rejected or
    screened out, and passed-but-not-hired with talent-pool consent."""

    rejected_days: int
    pool_days: int


def retention_expired(apps: list[dict], policy_of, now: datetime) -> bool:
    """Whether every application of the candidate ended without a hire and is past its division's period.
    `policy_of(division) -> Retention`. A candidate with any application still open, or hired, is kept."""
    if not apps:
        return False
    for app in apps:
        if app.get("status") not in ENDED_WITHOUT_HIRE:
            return False
        policy = policy_of(app.get("division"))
        passed = (app.get("decision") or {}).get("outcome") == "pass"
        days = policy.pool_days if passed and app.get("talent_pool_consent") else policy.rejected_days
        if app["updated_at"] + timedelta(days=days) > now:
            return False
    return True


# ----------------------------------------------------------------------------------------------------
# Reports: funnel, time to hire, sources. Computed from sourcing's own applications, whose timelines are
# its record of every status change; `apps` are stored applications (division, tier, source, status,
# timeline, created_at, requisition_id, requisition_title).

FUNNEL_STAGES: tuple[str, ...] = (S.received, S.shortlisted, S.interviewing, S.interviewed, S.awaiting_approval,
                                  S.offered, S.accepted, S.hired)
EXIT_STATUSES: tuple[str, ...] = (S.screened_out, S.rejected, S.declined, S.no_show, S.withdrawn)
FUNNEL_GROUPS = ("division", "requisition")
DAY_SECONDS = 86400


def stage_path(app: dict) -> tuple[str, ...]:
    """The stages an application can pass, in order: awaiting_approval only for core roles (a basic pass
    goes from interviewed straight to offered)."""
    statuses = {e["status"] for e in app.get("timeline") or []}
    if app.get("tier") == "core" or S.awaiting_approval in statuses:
        return FUNNEL_STAGES
    return tuple(s for s in FUNNEL_STAGES if s != S.awaiting_approval)


def reached_stages(app: dict) -> set[str]:
    """The stages an application reached: every stage of its path up to the furthest one its timeline
    shows. Reaching a stage implies the earlier ones: a fast-tracked application that starts at
    `interviewed` with a reused interview counts as shortlisted and interviewing (it was, on its prior
    application), and an application screened out then shortlisted by an override counts as shortlisted."""
    path = stage_path(app)
    seen = [path.index(e["status"]) for e in app.get("timeline") or [] if e["status"] in path]
    return set(path[: max(seen) + 1]) if seen else set()


def _first_at(app: dict, status: str) -> datetime | None:
    return next((e["at"] for e in app.get("timeline") or [] if e["status"] == status), None)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def stage_durations(app: dict) -> dict[str, list[float]]:
    """Seconds spent in each funnel stage, one value per stay that ended (the next timeline entry)."""
    out: dict[str, list[float]] = {}
    timeline = app.get("timeline") or []
    for entry, following in zip(timeline, timeline[1:], strict=False):
        if entry["status"] in FUNNEL_STAGES:
            out.setdefault(entry["status"], []).append(_seconds(entry["at"], following["at"]))
    return out


def funnel_stages(apps: list[dict]) -> list[dict[str, Any]]:
    """Per stage: `reached`, `conversion`, `drop_off` and `median_seconds_in_stage`.

    - reached: applications that reached the stage (`reached_stages`).
    - conversion: reached / the applications that reached the stage before it *on their own path*
      (`stage_path`): for `awaiting_approval` that is core applications at interviewed; for `offered`,
      basic applications at interviewed plus core ones at awaiting_approval. So a group of basic roles only
      has awaiting_approval at 0 reached (conversion null) and offered converting from interviewed. Null
      for `received` and whenever that denominator is 0. drop_off = 1 - conversion. 4 decimals.
    - median_seconds_in_stage: median over every stay in the status that ended (3 decimals)."""
    reached = [(stage_path(a), reached_stages(a)) for a in apps]
    durations: dict[str, list[float]] = {}
    for app in apps:
        for status, values in stage_durations(app).items():
            durations.setdefault(status, []).extend(values)
    rows = []
    for stage in FUNNEL_STAGES:
        count = sum(1 for _, got in reached if stage in got)
        conversion = None
        if stage != FUNNEL_STAGES[0]:
            before = sum(1 for path, got in reached if stage in path and path[path.index(stage) - 1] in got)
            conversion = stats.rate(count, before)
        rows.append({
            "status": str(stage),
            "reached": count,
            "conversion": conversion,
            "drop_off": None if conversion is None else round(1 - conversion, 4),
            "median_seconds_in_stage": stats.rounded(stats.median(durations.get(stage, []))),
        })
    return rows


def funnel_report(apps: list[dict], group_by: str = "division") -> list[dict[str, Any]]:
    """The funnel per division or per requisition (sorted), with the exits: applications whose status is
    now screened_out, rejected, declined, no_show or withdrawn."""
    if group_by not in FUNNEL_GROUPS:
        raise ValueError(f"group_by must be one of {FUNNEL_GROUPS}")
    groups: dict[tuple, list[dict]] = {}
    for app in apps:
        key = (app["division"],) if group_by == "division" else (app["division"], app["requisition_id"])
        groups.setdefault(key, []).append(app)
    out = []
    for key, items in sorted(groups.items()):
        head: dict[str, Any] = {"division": key[0]}
        if group_by == "requisition":
            head.update(requisition_id=key[1], requisition_title=items[0].get("requisition_title"))
        out.append({**head, "applications": len(items), "stages": funnel_stages(items),
                    "exits": {s.value: sum(1 for a in items if a["status"] == s) for s in EXIT_STATUSES}})
    return out


def days_to(app: dict, status: str) -> float | None:
    """Days from the application's receipt to the first time it reached `status`; None if it never did."""
    at = _first_at(app, status)
    return None if at is None else _seconds(app["created_at"], at) / DAY_SECONDS


def time_to_hire_report(apps: list[dict]) -> list[dict[str, Any]]:
    """Per (division, tier): applications, offers (reached offered), hires (reached hired), and the median
    and p90 (nearest rank, shared/stats.py) of the days from receipt to the offer and to the hire, 3
    decimals, null when there is none."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for app in apps:
        groups.setdefault((app["division"], app.get("tier") or ""), []).append(app)
    out = []
    for (division, tier), items in sorted(groups.items()):
        to_offer = [d for d in (days_to(a, S.offered) for a in items) if d is not None]
        to_hire = [d for d in (days_to(a, S.hired) for a in items) if d is not None]
        out.append({"division": division, "tier": tier or None, "applications": len(items),
                    "offers": len(to_offer), "hires": len(to_hire),
                    "to_offer_days": stats.summary(to_offer), "to_hire_days": stats.summary(to_hire)})
    return out


def sources_report(apps: list[dict]) -> list[dict[str, Any]]:
    """Per source channel: applications and how many reached shortlisted, interviewed, offered and hired
    (`reached_stages`), with each of shortlisted, offers and hires over applications (4 decimals)."""
    groups: dict[str, list[set[str]]] = {}
    for app in apps:
        groups.setdefault(app.get("source") or "", []).append(reached_stages(app))
    out = []
    for source, reached in sorted(groups.items()):
        n = len(reached)
        counts = {name: sum(1 for got in reached if stage in got) for name, stage in (
            ("shortlisted", S.shortlisted), ("interviewed", S.interviewed), ("offers", S.offered),
            ("hires", S.hired))}
        out.append({"source": source, "applications": n, **counts,
                    "shortlist_rate": stats.rate(counts["shortlisted"], n),
                    "offer_rate": stats.rate(counts["offers"], n), "hire_rate": stats.rate(counts["hires"], n)})
    return out
