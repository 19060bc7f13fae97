"""The interview_feedback service's RPCs (shared/contracts/rpc.py): one declaration each, with the answers
the API shows (gateway/openapi.py describes its routes with these models)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from shared.contracts.commands import (
    ApprovalDecisionIn,
    AttendanceIn,
    DecisionIn,
    InterviewCancelIn,
    InterviewFormat,
    InterviewKitIn,
    InterviewPatch,
    NewInterview,
    OtherTimesIn,
    PanelContacts,
    ScorecardIn,
    SlotPickIn,
)
from shared.contracts.common import DEFAULT_PAGE, AppStatus, Id, IdList, Recommendation, RpcPageLimit
from shared.contracts.rpc import ADMIN, ANYONE, HR, STAFF, SYSTEM_ONLY, Args, Rpc, View

SERVICE = "interview_feedback"

InterviewStatus = Literal["awaiting_candidate", "scheduled", "complete", "cancelled"]
# The API's bounds (gateway/deps.py `Cursor`; a page's size is shared/contracts/common.py's, as every list's).
Cursor = Annotated[str | None, Field(max_length=200)]
# A division to narrow to; the service checks it further (its form, and that the caller may see it).
DivisionArg = Annotated[str | None, Field(max_length=80)]


# ---------------------------------------------------------------------------------------------- answers
class Scorecard(View):
    interviewer: str
    ratings: dict[str, int]
    recommendation: Recommendation
    highlights: list[str]
    notes: str
    submitted_at: str | None


class ScorecardCreated(Scorecard):
    id: str
    interview_id: str
    interview_status: InterviewStatus


class Discrepancy(View):
    flagged: bool
    competencies: list[str]
    spread: dict[str, int] = Field(description="per competency: max - min of its ratings")


class InterviewSummary(View):
    average: float | None
    by_competency: dict[str, float]
    recommendations: dict[str, int]
    discrepancy: Discrepancy


class Attendance(View):
    candidate: Literal["attended", "no_show"]
    recorded_by: str
    recorded_at: str | None


class Cancellation(View):
    reason: str
    by_rejection: bool
    cancelled_by: str
    cancelled_at: str | None


class TimesRequest(View):
    note: str
    requested_at: str | None


class Clash(View):
    interviewer: str
    interview_id: str | None = Field(description="null when that interview is in a division the caller cannot see")
    starts_at: str | None
    ends_at: str | None


class KitCompetencyView(View):
    questions: list[str]
    guidance: str


class InterviewKit(View):
    requisition_id: str
    division: str
    competencies: dict[str, KitCompetencyView]
    updated_by: str | None
    updated_at: str | None


class InterviewTimes(View):
    """The scheduling fields of an interview (the interviews issue), listed or read alone."""

    starts_at: str | None = Field(description="null while the candidate picks one of `slots`")
    ends_at: str | None
    duration_minutes: int
    timezone: str = Field(description="IANA; the division's unless the scheduler chose one")
    format: InterviewFormat
    location: str | None
    meeting_url: str | None
    instructions: str | None
    slots: list[str] = Field(description="the start times offered to the candidate (self-scheduling)")
    sequence: int = Field(description="the calendar SEQUENCE: raised by every change")
    attendance: Attendance | None
    cancellation: Cancellation | None
    other_times_requested: list[TimesRequest] = Field(description="the candidate asked for other times (portal)")


class InterviewListItem(InterviewTimes):
    """An interview as listed: no scorecards (read them per interview)."""

    id: str
    application_id: str
    requisition_id: str | None
    division: str
    status: InterviewStatus
    interviewers: list[str]
    competencies: list[str]
    scheduled_at: str | None = Field(description="the same as starts_at (its name before the interviews issue)")
    created_at: str | None
    completed_at: str | None
    submitted: list[str] = Field(description="the panel members whose scorecard is in")


class Interview(InterviewTimes):
    id: str
    application_id: str
    division: str
    status: InterviewStatus
    interviewers: list[str]
    competencies: list[str]
    scheduled_at: str | None = Field(description="the same as starts_at (its name before the interviews issue)")
    created_at: str | None
    completed_at: str | None
    requisition_id: str | None = None
    clashes: list[Clash] = Field(default=[], description="panel members in another overlapping interview "
                                                         "(scheduled with allow_clash)")
    kit: InterviewKit | None = Field(default=None, description="the requisition's interview kit, for the panel")
    scorecards: list[Scorecard] = Field(description="those the caller may read: an interviewer's own until it "
                                                    "submitted, then all")
    summary: InterviewSummary | None


class InterviewPage(View):
    items: list[InterviewListItem]
    next_cursor: str | None


class ApprovalStep(View):
    id: str
    step: int
    role: str
    status: Literal["pending", "approved", "rejected"]
    expected_by: str | None
    decided_at: str | None
    decided_by: str | None
    note: str | None


class QueuedApproval(ApprovalStep):
    application_id: str
    division: str
    overdue: bool = Field(description="past its expected_by")
    can_decide: bool = Field(description="the caller's role decides this step")


class ApprovalQueue(View):
    items: list[QueuedApproval]


class Decision(View):
    application_id: str
    outcome: Literal["pass", "fail"]
    next_status: AppStatus
    note: str | None
    decided_by: str | None
    decided_at: str | None
    approvals: list[ApprovalStep]


class InterviewerFigures(View):
    interviewer: str
    scorecards: int
    mean_rating: float | None
    leniency_z: float | None = Field(description="(mean - mean of the interviewers' means) / their population std")
    discrepancy_scorecards: int = Field(description="cards whose rating is an end of a flagged competency's spread")
    discrepancy_rate: float | None
    median_submission_delay_hours: float | None = Field(description="submitted_at - scheduled_at, floored at 0")


class InterviewersReport(View):
    model_config = ConfigDict(serialize_by_alias=True)  # `from` is a Python keyword: the field is `from_`

    division: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    items: list[InterviewerFigures]


class InterviewFeedbackExport(View):
    """Right of access: every interview (with every scorecard, no summary) and decision with its steps."""

    interviews: list[Interview]
    decisions: list[Decision]


# ---------------------------------------------------------------------------------------------- arguments
class ExportArgs(Args):
    candidate_id: Id
    application_ids: IdList


class ScheduleInterviewArgs(NewInterview):
    application_id: Id
    # The panel's names with their addresses, as the gateway resolved them (gateway/panel.py): for invitations.
    panel: PanelContacts = []


class PatchInterviewArgs(InterviewPatch):
    SENDS_ONLY_SET: ClassVar[bool] = True  # sent as given: a field left out is unchanged (shared/contracts/rpc.py)
    _NOT_CHANGES = frozenset({"allow_clash", "interview_id", "panel"})

    interview_id: Id
    panel: PanelContacts | None = None  # with `interviewers`: the new panel's addresses (gateway/panel.py)


class CancelInterviewArgs(InterviewCancelIn):
    interview_id: Id


class AttendanceArgs(AttendanceIn):
    interview_id: Id


class PickSlotArgs(SlotPickIn):
    application_id: Id


class OtherTimesArgs(OtherTimesIn):
    application_id: Id


class KitArgs(Args):
    requisition_id: Id


class PutKitArgs(InterviewKitIn):
    requisition_id: Id


class PanelBrief(View):
    """What a panel member needs before the interview (`GET /v1/interviews/{id}/brief`, assembled by the
    gateway): whom, for which role, when in the interview's zone, where, and the kit."""

    interview_id: str
    candidate_name: str | None
    requisition_title: str | None
    status: InterviewStatus
    starts_at: str | None
    ends_at: str | None
    timezone: str
    local_start: str | None = Field(description="the start in `timezone`, ISO-8601 with its offset")
    format: InterviewFormat
    location: str | None
    meeting_url: str | None
    kit: InterviewKit | None


class CandidateInterview(View):
    """What the candidate sees of their interview on the portal (an allow-list: no panel, no scorecards)."""

    interview_id: str
    status: InterviewStatus
    starts_at: str | None
    ends_at: str | None
    duration_minutes: int
    timezone: str
    format: InterviewFormat
    location: str | None
    meeting_url: str | None
    instructions: str | None
    slots: list[str] = Field(description="open slots to pick from (taken ones left out)")
    other_times_requested: bool


class ListInterviewsArgs(Args):
    interviewer: Annotated[str | None, Field(max_length=80)] = None
    status: InterviewStatus | None = None
    application_id: Id | None = None
    limit: RpcPageLimit = DEFAULT_PAGE
    cursor: Cursor = None


class InterviewArgs(Args):
    interview_id: Id


class SubmitScorecardArgs(ScorecardIn):
    interview_id: Id


class ReportArgs(Args):
    """A report's scope (shared/reports.py parses the period and checks the division)."""

    division: DivisionArg = None
    start: Annotated[str | None, Field(max_length=40)] = None
    end: Annotated[str | None, Field(max_length=40)] = None


class DecideArgs(DecisionIn):
    application_id: Id


class ApplicationArgs(Args):
    application_id: Id


class ApprovalQueueArgs(Args):
    division: DivisionArg = None


class DecideApprovalArgs(ApprovalDecisionIn):
    approval_id: Id


# ---------------------------------------------------------------------------------------------- declarations
ExportCandidate = Rpc(SERVICE, "export_candidate", ExportArgs, InterviewFeedbackExport, (ADMIN,),
                      "Right of access: interviews with every scorecard, decisions and approval steps")
ScheduleInterview = Rpc(SERVICE, "schedule_interview", ScheduleInterviewArgs, Interview, STAFF,
                        "Schedule the interview of a shortlisted application")
ListInterviews = Rpc(SERVICE, "list_interviews", ListInterviewsArgs, InterviewPage, ANYONE,
                     "Interviews in the caller's divisions; an interviewer's key lists those it sits on")
GetInterview = Rpc(SERVICE, "get_interview", InterviewArgs, Interview, ANYONE,
                   "One interview with the scorecards the caller may read (an interviewer: only on its panel)")
SubmitScorecard = Rpc(SERVICE, "submit_scorecard", SubmitScorecardArgs, ScorecardCreated, ANYONE,
                      "A panel member's scorecard (an interviewer's key only its own); the last one completes it")
InterviewerReport = Rpc(SERVICE, "interviewer_report", ReportArgs, InterviewersReport, STAFF,
                        "Per interviewer, over the scorecards submitted in [from, to)")
Decide = Rpc(SERVICE, "decide", DecideArgs, Decision, (HR, ADMIN),
             "The decision on an interviewed application; a core pass opens an approval chain")
ListApprovals = Rpc(SERVICE, "list_approvals", ApplicationArgs, list[ApprovalStep], STAFF,
                    "The approval steps of one application")
# `ApprovalQueue` names its answer (the API's schema of that name).
GetApprovalQueue = Rpc(SERVICE, "approval_queue", ApprovalQueueArgs, ApprovalQueue, (HR, ADMIN),
                       "The approval steps waiting for a decision now in the caller's divisions, overdue first")
# A step is decided by its own role (hr, then admin); the domain checks which one (domain.check_approval).
PatchInterview = Rpc(SERVICE, "patch_interview", PatchInterviewArgs, Interview, STAFF,
                     "Reschedule, move or re-staff an interview; raises its sequence")
CancelInterview = Rpc(SERVICE, "cancel_interview", CancelInterviewArgs, Interview, STAFF,
                      "Call an interview off; its application goes back to shortlisted")
RecordAttendance = Rpc(SERVICE, "record_attendance", AttendanceArgs, Interview, STAFF,
                       "Whether the candidate came, after the interview's start")
# The portal's calls, as the system after it checked the candidate's token.
CandidateInterviewOf = Rpc(SERVICE, "candidate_interview", ApplicationArgs, CandidateInterview | None, SYSTEM_ONLY,
                           "The application's open interview as the candidate sees it (null: none)")
PickSlot = Rpc(SERVICE, "pick_slot", PickSlotArgs, CandidateInterview, SYSTEM_ONLY,
               "The candidate picks one of the offered slots")
RequestOtherTimes = Rpc(SERVICE, "request_other_times", OtherTimesArgs, CandidateInterview, SYSTEM_ONLY,
                        "The candidate asks for other times than the slots offered")
GetKit = Rpc(SERVICE, "get_kit", KitArgs, InterviewKit, STAFF, "A requisition's interview kit")
PutKit = Rpc(SERVICE, "put_kit", PutKitArgs, InterviewKit, STAFF,
             "Set a requisition's interview kit: questions and guidance per competency")
DecideApproval = Rpc(SERVICE, "decide_approval", DecideApprovalArgs, ApprovalStep, (HR, ADMIN),
                     "Approve or reject one approval step, in order")
