"""The notification service's RPCs (shared/contracts/rpc.py): one declaration each, and the answers they give."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, EmailStr, Field
from pydantic_core import PydanticCustomError

from shared.contracts.commands import NotificationPolicy, NotificationPolicyPut, Seconds, SurveyIn
from shared.contracts.common import Id, IdList, NoticeKind
from shared.contracts.queries import Cursor, Limit, ReportArgs, ReportPeriod
from shared.contracts.rpc import ADMIN, ANYONE, HR, STAFF, SYSTEM_ONLY, Args, Rpc, View

SERVICE = "notification"

_DIVISION = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


def _division(value: Any) -> str:
    if not isinstance(value, str) or not _DIVISION.match(value):
        raise PydanticCustomError("division", "letters, digits, '_', '-' or '.', 1 to 80 characters")
    return value


# The division a policy belongs to, as the path names it.
PolicyDivision = Annotated[str, BeforeValidator(_division)]


# ---------------------------------------------------------------------------------------------- answers
class Notice(View):
    """api-v1's notice, and what ties it to its application, candidate and division."""

    id: str
    kind: NoticeKind
    channel: Literal["email", "webhook", "slack", "teams"]
    recipient: str | None
    status: Literal["scheduled", "sent", "failed", "cancelled"]
    scheduled_for: str | None
    sent_at: str | None
    subject: str | None
    body: str | None
    application_id: str | None
    candidate_id: str | None
    reengagement_id: str | None = Field(description="the re-engagement a `reengagement` notice offers")
    division: str | None
    step: int = Field(description="the approval step of an `approval_overdue` reminder; 0 otherwise")
    error: str | None = Field(description="why the last attempt to send failed")


class NoticePage(View):
    items: list[Notice]
    next_cursor: str | None


class Policy(View):
    """A division's notification policy as GET answers it: every delay in seconds, the webhook secret hidden."""

    division: str
    guide_after: Seconds
    hr_confirm_after: Seconds
    urgent_confirm_within: Seconds
    approval_sla: Seconds
    rejection_delay: Seconds
    survey_after: Seconds
    locale: Literal["en", "zh-CN"]
    reuse_interview_within: Seconds
    hr_email: str | None
    group_hr_email: str | None
    hr_webhook_url: str | None
    hr_webhook_secret: None = Field(description="write-only: always null here")
    hr_webhook_secret_set: bool
    share_evidence: bool
    screen_out_rejection_delay: Seconds
    reply_to: str | None
    interview_reminders: list[Seconds] = Field(description="seconds before an interview's start: one reminder "
                                                           "to the candidate each")
    scorecard_reminder_after: Seconds = Field(description="seconds after an interview's end: a reminder to "
                                                          "each panel member whose scorecard is missing")
    offer_expiry_warning: Seconds = Field(default=86400, description="HR is warned this long before an "
                                          "unanswered offer expires")
    slack_webhook_url: None = Field(default=None, description="write-only: always null here")
    slack_webhook_set: bool = False
    teams_webhook_url: None = Field(default=None, description="write-only: always null here")
    teams_webhook_set: bool = False

    @classmethod
    def of(cls, division: str, policy: NotificationPolicy) -> Policy:
        """How a stored policy reads: the webhook secret and the chat URLs never shown, only whether they are set."""
        return cls.model_validate({**policy.model_dump(mode="json"), "division": division, "hr_webhook_secret": None,
                                   "hr_webhook_secret_set": policy.hr_webhook_secret is not None,
                                   "slack_webhook_url": None, "teams_webhook_url": None,
                                   "slack_webhook_set": policy.slack_webhook_url is not None,
                                   "teams_webhook_set": policy.teams_webhook_url is not None})


class SurveyRecord(View):
    application_id: str
    score: int
    comment: str | None = Field(description="null once the candidate's data is erased")
    answered_at: str | None


class NotificationExport(View):
    notices: list[Notice]
    surveys: list[SurveyRecord]


class SurveyState(View):
    sent: bool
    answered: bool


class SurveyAnswered(View):
    application_id: str
    score: int
    answered: bool


class TimingGroup(View):
    kind: str
    tier: str | None
    mode: str
    count: int
    sent: int
    median_delay_seconds: float | None
    outcomes: dict[str, int]
    acceptance_rate: float | None
    no_show_rate: float | None
    surveys: int
    average_survey_score: float | None


class InterviewAttendance(View):
    recorded: int = Field(description="interviews starting in the period whose attendance was recorded")
    attended: int
    no_show: int
    no_show_rate: float | None = Field(description="no_show / recorded")


class NotificationTimingReport(ReportPeriod):
    """Per result kind, tier and timing mode, over decisions in the period (services/notification/domain.py),
    and the candidates' attendance of interviews starting in the period (the interviews issue)."""

    groups: list[TimingGroup]
    interviews: InterviewAttendance = InterviewAttendance(recorded=0, attended=0, no_show=0, no_show_rate=None)


class OverdueScorecard(View):
    interview_id: str
    application_id: str
    division: str
    ends_at: str | None
    overdue_since: str | None = Field(description="the end + the division's scorecard_reminder_after")
    missing: list[str] = Field(description="the panel members whose scorecard is not in")


class OverdueScorecards(View):
    division: str | None
    items: list[OverdueScorecard]


class StaffEmailSent(View):
    message_id: str


# ---------------------------------------------------------------------------------------------- arguments
class DivisionArgs(Args):
    division: PolicyDivision


class PutPolicyArgs(NotificationPolicyPut):
    """A policy (PUT replaces it), or a GET's answer sent back as is: its `hr_webhook_secret_set` is ignored.
    `division` is the policy's (the path's; the gateway refuses a body naming another)."""

    division: PolicyDivision

    def policy(self) -> NotificationPolicy:
        return NotificationPolicy.model_validate({f: getattr(self, f) for f in NotificationPolicy.model_fields})


class ApplicationArgs(Args):
    application_id: Id


class ApplicationPageArgs(ApplicationArgs):
    limit: Limit = 500
    cursor: Cursor = None


class CandidatePageArgs(Args):
    candidate_id: Id
    limit: Limit = 500
    cursor: Cursor = None


class ExportArgs(Args):
    candidate_id: Id
    application_ids: IdList


class StaffEmailArgs(Args):
    """An email to a member of staff (issue 20): an account's invitation or password reset link, in the
    person's locale. Sent at once, never stored: the link is a credential (docs/decisions/008-users.md)."""

    to: EmailStr
    template: Literal["staff_invitation", "staff_password_reset"]
    locale: Literal["en", "zh-CN"] = "en"
    name: Annotated[str, Field(min_length=1, max_length=200)]
    link: Annotated[str, Field(min_length=10, max_length=500, pattern=r"^https?://")]
    expires_at: str = Field(max_length=40, description="when the link stops working (ISO, UTC)")


class OverdueArgs(Args):
    division: PolicyDivision | None = None


class RecordSurveyArgs(SurveyIn):
    application_id: Id


# ---------------------------------------------------------------------------------------------- declarations
GetPolicy = Rpc(SERVICE, "get_policy", DivisionArgs, Policy, ANYONE,
                "A division's policy (defaults until one is stored); other services read their delays here")
PutPolicy = Rpc(SERVICE, "put_policy", PutPolicyArgs, Policy, (HR, ADMIN))
ListForApplication = Rpc(SERVICE, "list_for_application", ApplicationPageArgs, NoticePage, STAFF)
ListForCandidate = Rpc(SERVICE, "list_for_candidate", CandidatePageArgs, NoticePage, STAFF)
ExportCandidate = Rpc(SERVICE, "export_candidate", ExportArgs, NotificationExport, (ADMIN,),
                      "Right of access: every notice (sent, waiting or cancelled) and every survey answer")
GetSurvey = Rpc(SERVICE, "get_survey", ApplicationArgs, SurveyState, SYSTEM_ONLY,
                "The portal: was a survey sent for this application, and is it answered")
RecordSurvey = Rpc(SERVICE, "record_survey", RecordSurveyArgs, SurveyAnswered, SYSTEM_ONLY,
                   "The portal: the candidate's answer, once per application, only after a survey was sent")
TimingReport = Rpc(SERVICE, "timing_report", ReportArgs, NotificationTimingReport, STAFF,
                   "GET /v1/reports/notification-timing")
OverdueScorecardList = Rpc(SERVICE, "overdue_scorecards", OverdueArgs, OverdueScorecards, STAFF,
                          "GET /v1/reports/overdue-scorecards: held interviews with scorecards missing past "
                          "the division's scorecard_reminder_after")
SendStaffEmail = Rpc(SERVICE, "send_staff_email", StaffEmailArgs, StaffEmailSent, SYSTEM_ONLY,
                     "The gateway: a staff account's invitation or password reset link, sent at once")
