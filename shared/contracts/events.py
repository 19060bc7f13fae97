"""The event catalogue, version 1: every event type, who publishes it, and its payload's shape.

Payloads carry what consumers need so they never read another service's database. Personal data
(name, email, phone) travels only in `application_received`, to the services that must contact or
list the candidate; its email and phone travel sealed (shared/crypto.py: `open_sealed` where a consumer must
write to the person), so the outbox, the broker and dead-letter queues never hold them in clear.

Compatibility rule: within a version, fields may be added (consumers ignore unknown fields); removing
or changing a field means a new `version` and a period in which producers publish both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from shared.contracts.common import Open


class RequisitionSnapshot(Open):
    id: str
    title: str
    division: str
    department: str
    tier: str
    urgent: bool = False
    required_skills: list[str]
    skills: list[str] = []
    min_years: float = 0
    location: str | None = None
    headcount: int = 1
    knockout_questions: list[dict[str, Any]] = []
    status: str = "open"
    created_at: datetime | None = None


class CandidateSnapshot(Open):
    name: str
    email: str  # sealed (shared/crypto.py)
    phone: str | None = None  # sealed
    skills: list[str] = []
    years_experience: float = 0
    location: str | None = None


class ScreeningResult(Open):
    passed: bool
    score: int
    match: int
    matched_skills: list[str]
    missing_skills: list[str]
    reasons: list[str]
    override: dict[str, Any] | None = None  # {by, reason, at} when a person overrode the machine
    # The careers issue: skills found in the CV that the candidate did not type (screening used both).
    skills_from_cv: list[str] = []


class InterviewSummary(Open):
    interview_id: str
    average: float | None
    by_competency: dict[str, float]
    recommendations: dict[str, int]
    discrepancy: dict[str, Any]
    highlights: list[str] = []
    completed_at: datetime | None = None
    reused_from_application_id: str | None = None  # set on a fast-tracked application


class DecisionInfo(Open):
    outcome: str  # pass | fail
    note: str | None = None
    decided_by: str | None = None
    decided_at: datetime


class OfferInfo(Open):
    """An offer's terms as sourcing holds them (api-v1 "Interviews, offers"): what the candidate is offered,
    with what its letter needs besides (`company`: the division's name, `timezone`: its zone, which the expiry
    is shown in). `version` counts the terms set on the application (1 first, raised by each new set), so
    notices of new terms are told apart. No personal data."""

    version: int = 1
    salary: dict[str, Any]  # {amount, currency, period}
    start_date_options: list[date]
    expires_at: datetime
    message: str | None = None
    company: str = ""
    timezone: str = "UTC"
    set_at: datetime | None = None


# --- sourcing ---------------------------------------------------------------------------------------

class RequisitionOpened(Open):
    requisition: RequisitionSnapshot


class RequisitionClosed(Open):
    requisition_id: str
    division: str
    reason: str
    closed_at: datetime


class ApplicationReceived(Open):
    application_id: str
    candidate_id: str
    requisition: RequisitionSnapshot
    candidate: CandidateSnapshot
    source: str
    talent_pool_consent: bool = False
    answers: dict[str, bool] = {}
    # Set when the application was created from a talent-pool re-engagement.
    fast_track: dict[str, Any] | None = None
    received_at: datetime
    # The careers issue: the candidate applied themselves (careers site or public API), in this language;
    # when a CV came with it, screening waits for its reading (`document_read`) before it screens.
    self_applied: bool = False
    locale: str = "en"
    cv_document_id: str | None = None


class DocumentReceived(Open):
    """A file stored with an application (GridFS, sealed): sourcing's own reader extracts its text off the
    request path. No content and no file name travel on the bus."""

    document_id: str
    application_id: str
    candidate_id: str
    requisition_id: str
    division: str
    kind: str  # cv | other
    content_type: str
    received_at: datetime


class DocumentRead(Open):
    """What was read from a file: the skills of the group's vocabulary found in it and the years of experience
    it states. The text itself stays in sourcing."""

    document_id: str
    application_id: str
    candidate_id: str
    requisition_id: str
    division: str
    kind: str
    text_status: str  # extracted | unreadable
    skills_found: list[str] = []
    years_found: float | None = None
    unreadable_reason: str | None = None
    read_at: datetime


class ApplicationStatusChanged(Open):
    """The application as it now stands (no personal data), after one status change.

    Consumers keep their own copy of the status from it (projections) and must expect changes out of
    order: `sequence` orders them (shared/contracts/status.py, `supersedes`)."""

    # The change's position in the application's timeline (1: received), strictly increasing per application.
    # Added within version 1: 0 when the producer predates it (consumers then compare `at`).
    sequence: int = 0
    application_id: str
    candidate_id: str
    requisition_id: str
    requisition_title: str
    division: str
    department: str = ""
    tier: str
    urgent: bool = False
    source: str
    talent_pool_consent: bool = False
    previous_status: str | None
    status: str
    detail: str = ""
    at: datetime
    screening: ScreeningResult | None = None
    interview: InterviewSummary | None = None
    decision: DecisionInfo | None = None
    reengagement_id: str | None = None
    # The offers work: the offer's terms once set (a core role's before its last approval; they reach the
    # candidate with `offered`).
    offer: OfferInfo | None = None


class OfferTermsSet(Open):
    """HR set (or replaced) the terms of an offer (`POST /v1/applications/{id}/offer`). `status` is the
    application's: an `offered` one's candidate is sent the new terms; an `awaiting_approval` one's keeps them
    for the status change to `offered`."""

    application_id: str
    division: str
    status: str
    offer: OfferInfo


class OfferQuestionAsked(Open):
    """The candidate sent HR a question about their offer from the portal (recorded on the application)."""

    application_id: str
    division: str
    question_id: str
    message: str
    asked_at: datetime


class OfferConfirmationRecorded(Open):
    application_id: str
    division: str
    result: str  # confirmed | unreachable
    note: str | None = None
    by: str
    at: datetime


# --- screening --------------------------------------------------------------------------------------

class ApplicationScreened(Open):
    application_id: str
    requisition_id: str
    division: str
    result: ScreeningResult


# --- interview_feedback ------------------------------------------------------------------------------

class PanelContact(Open):
    """A panel member on an interview event: the name, and the address invitations and reminders go to
    (sealed, shared/crypto.py; null when the interviewer has none)."""

    name: str
    email: str | None = None


class InterviewDetails(Open):
    """An interview as it now stands, on every interview event since the interviews issue: what invitations,
    updates, cancellations and reminders need (notification builds the calendar entries from it). `sequence`
    is the calendar SEQUENCE: 0 when first scheduled (or offered), raised by every change. `starts_at` and
    `ends_at` are null while the candidate has `slots` to pick from (status awaiting_candidate)."""

    interview_id: str
    application_id: str
    requisition_id: str | None = None
    candidate_id: str | None = None
    division: str
    status: str  # awaiting_candidate | scheduled | complete | cancelled
    sequence: int = 0
    interviewers: list[str]
    competencies: list[str] = []
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_minutes: int = 60
    timezone: str = "UTC"  # IANA: the times shown to people are in it (or in each recipient's own)
    format: str = "video"  # onsite | video | phone
    location: str | None = None
    meeting_url: str | None = None
    instructions: str | None = None
    slots: list[datetime] = []
    panel: list[PanelContact] = []  # the interviewers with their addresses (since the invitations)


class InterviewScheduled(Open):
    """The interview has a time: scheduled at once, or the candidate picked one of the offered slots."""

    interview_id: str
    application_id: str
    division: str
    interviewers: list[str]
    competencies: list[str]
    scheduled_at: datetime
    interview: InterviewDetails | None = None  # the interviews issue: every detail, with `sequence`


class InterviewSlotsOffered(Open):
    """Self-scheduling: the candidate is asked to pick one of `interview.slots` on the portal. The application
    is interviewing from now (sourcing follows it as it follows interview_scheduled)."""

    interview_id: str
    application_id: str
    division: str
    interview: InterviewDetails


class InterviewUpdated(Open):
    """`PATCH /v1/interviews/{id}`: `changed` names the fields; `previous_interviewers` lets a removed panel
    member's invitation be cancelled."""

    interview_id: str
    application_id: str
    division: str
    changed: list[str]
    previous_interviewers: list[str]
    previous_starts_at: datetime | None = None
    updated_by: str
    updated_at: datetime
    interview: InterviewDetails


class InterviewCancelled(Open):
    """An interview called off (calendar METHOD:CANCEL). The application goes back to shortlisted, unless the
    cancellation comes with a rejection (`by_rejection`: a fail decision cancels the open interviews)."""

    interview_id: str
    application_id: str
    division: str
    reason: str
    by_rejection: bool = False
    cancelled_by: str
    cancelled_at: datetime
    interview: InterviewDetails


class InterviewOtherTimesRequested(Open):
    """The candidate asked for other times than the slots offered (portal); HR sees it on the interview."""

    interview_id: str
    application_id: str
    division: str
    note: str = ""
    requested_at: datetime
    interview: InterviewDetails


class InterviewAttendanceRecorded(Open):
    """Whether the candidate came (after the start): interview no-shows count in the notification timing report."""

    interview_id: str
    application_id: str
    division: str
    candidate: str  # attended | no_show
    recorded_by: str
    recorded_at: datetime
    interview: InterviewDetails


class ScorecardSubmitted(Open):
    interview_id: str
    application_id: str
    division: str
    interviewer: str
    ratings: dict[str, int]
    recommendation: str
    submitted_at: datetime


class InterviewCompleted(Open):
    application_id: str
    division: str
    summary: InterviewSummary


class DecisionRecorded(Open):
    application_id: str
    division: str
    tier: str
    decision: DecisionInfo
    # The status the application moves to: rejected | offered | awaiting_approval.
    next_status: str
    # The offers work: terms given with a pass (`DecisionIn.offer`), stored by sourcing with the move.
    offer: dict[str, Any] | None = None


class ApprovalStep(Open):
    id: str
    step: int
    role: str
    status: str
    expected_by: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None


class ApprovalsRequested(Open):
    application_id: str
    division: str
    steps: list[ApprovalStep]


class ApprovalStepDecided(Open):
    application_id: str
    division: str
    step: ApprovalStep
    next_step: ApprovalStep | None = None
    # approved_all -> the application is offered; rejected -> rejected; pending -> waiting for next_step.
    chain_status: str


# --- notification ------------------------------------------------------------------------------------

class NoticeSent(Open):
    notice_id: str
    application_id: str | None
    candidate_id: str | None
    division: str | None
    kind: str
    channel: str
    sent_at: datetime


# --- talent_pool ---------------------------------------------------------------------------------------

class CandidatePooled(Open):
    candidate_id: str
    application_id: str
    division: str
    reason: str
    retain_until: datetime


class MatchesSurfaced(Open):
    requisition_id: str
    division: str
    candidate_ids: list[str]


class ReengagementRequested(Open):
    reengagement_id: str
    requisition_id: str
    requisition_title: str
    division: str
    candidate_id: str
    requested_by: str


class ReengagementAnswered(Open):
    reengagement_id: str
    requisition_id: str
    division: str
    candidate_id: str
    response: str  # accept | decline
    application_id: str | None = None


class CommunitySignupRequested(Open):
    """Someone asked to join the talent community (or asked again): notification emails the confirmation
    link (double opt-in). `request` counts the requests of this sign-up, so each one is its own email.
    The email travels sealed; whether the address was already a member is not said (no enumeration).
    `candidate_id` is the sign-up's id (`mem_...`): a member's id in the pool, and what erasure guards read."""

    candidate_id: str
    name: str
    email: str  # sealed
    locale: str = "en"
    request: int = 1
    requested_at: datetime


class CommunityMemberLeft(Open):
    """A member left (or never confirmed and was removed): their sign-up lost its personal data; notification
    forgets their address and the words of their emails, and takes no later event about them. Ids only."""

    candidate_id: str  # the sign-up's id
    left_at: datetime


# --- notes (issue 20) --------------------------------------------------------------------------------------

class NoteRecipient(Open):
    """A user a note mentions: notification emails them (the gateway owns users; their address travels sealed)."""

    user_id: str
    name: str
    email: str  # sealed
    locale: str = "en"


class NoteAdded(Open):
    """A staff note on an application mentioned users of its division. No note text and no candidate data:
    the email and the chat post only say who mentioned them where, with a link to the console."""

    note_id: str
    application_id: str
    candidate_id: str
    requisition_id: str
    requisition_title: str
    division: str
    author: str
    mentions: list[NoteRecipient]
    created_at: datetime


# --- erasure (right to erasure and retention) -------------------------------------------------------------

class CandidateErasureRequested(Open):
    """Sourcing erased its own records of the candidate; every other service now erases (or anonymises) its
    own and answers with `candidate_erased`. Ids only: the personal data is what is being removed."""

    erasure_id: str
    candidate_id: str
    application_ids: list[str]
    reason: str  # request | retention
    requested_at: datetime


class CandidateErased(Open):
    erasure_id: str
    candidate_id: str
    service: str
    counts: dict[str, int]  # what was erased, by kind of record
    erased_at: datetime


EVENT_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("sourcing", "requisition_opened"): RequisitionOpened,
    ("sourcing", "requisition_closed"): RequisitionClosed,
    ("sourcing", "application_received"): ApplicationReceived,
    ("sourcing", "application_status_changed"): ApplicationStatusChanged,
    ("sourcing", "offer_confirmation_recorded"): OfferConfirmationRecorded,
    ("sourcing", "offer_terms_set"): OfferTermsSet,
    ("sourcing", "offer_question_asked"): OfferQuestionAsked,
    ("sourcing", "candidate_erasure_requested"): CandidateErasureRequested,
    ("sourcing", "document_received"): DocumentReceived,
    ("sourcing", "document_read"): DocumentRead,
    ("sourcing", "note_added"): NoteAdded,
    ("screening", "application_screened"): ApplicationScreened,
    ("interview_feedback", "interview_scheduled"): InterviewScheduled,
    ("interview_feedback", "interview_slots_offered"): InterviewSlotsOffered,
    ("interview_feedback", "interview_updated"): InterviewUpdated,
    ("interview_feedback", "interview_cancelled"): InterviewCancelled,
    ("interview_feedback", "interview_other_times_requested"): InterviewOtherTimesRequested,
    ("interview_feedback", "interview_attendance_recorded"): InterviewAttendanceRecorded,
    ("interview_feedback", "scorecard_submitted"): ScorecardSubmitted,
    ("interview_feedback", "interview_completed"): InterviewCompleted,
    ("interview_feedback", "decision_recorded"): DecisionRecorded,
    ("interview_feedback", "approvals_requested"): ApprovalsRequested,
    ("interview_feedback", "approval_step_decided"): ApprovalStepDecided,
    ("notification", "notice_sent"): NoticeSent,
    ("talent_pool", "candidate_pooled"): CandidatePooled,
    ("talent_pool", "matches_surfaced"): MatchesSurfaced,
    ("talent_pool", "reengagement_requested"): ReengagementRequested,
    ("talent_pool", "reengagement_answered"): ReengagementAnswered,
    ("talent_pool", "community_signup_requested"): CommunitySignupRequested,
    ("talent_pool", "community_member_left"): CommunityMemberLeft,
    **{(service, "candidate_erased"): CandidateErased
       for service in ("screening", "interview_feedback", "notification", "talent_pool")},
}
