"""The interview_feedback service's RPCs (shared/contracts/rpc.py): one declaration each, with the answers
the API shows (gateway/openapi.py describes its routes with these models)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.contracts.commands import ApprovalDecisionIn, DecisionIn, NewInterview, ScorecardIn
from shared.contracts.common import DEFAULT_PAGE, AppStatus, Id, IdList, Recommendation, RpcPageLimit
from shared.contracts.rpc import ADMIN, ANYONE, HR, STAFF, Args, Rpc, View

SERVICE = "interview_feedback"

InterviewStatus = Literal["scheduled", "complete"]
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


class InterviewListItem(View):
    """An interview as listed: no scorecards (read them per interview)."""

    id: str
    application_id: str
    requisition_id: str | None
    division: str
    status: InterviewStatus
    interviewers: list[str]
    competencies: list[str]
    scheduled_at: str | None
    created_at: str | None
    completed_at: str | None
    submitted: list[str] = Field(description="the panel members whose scorecard is in")


class Interview(View):
    id: str
    application_id: str
    division: str
    status: InterviewStatus
    interviewers: list[str]
    competencies: list[str]
    scheduled_at: str | None
    created_at: str | None
    completed_at: str | None
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
DecideApproval = Rpc(SERVICE, "decide_approval", DecideApprovalArgs, ApprovalStep, (HR, ADMIN),
                     "Approve or reject one approval step, in order")
