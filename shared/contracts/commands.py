"""Request bodies of api-v1, validated at the gateway (422 naming the field) and again in the owning
service, from the same model. Limits on sizes keep one request from exhausting a service."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    HttpUrl,
    StrictBool,
    StrictInt,
    StringConstraints,
    UrlConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.contracts.common import (
    Division,
    Name,
    Role,
    ShortText,
    Skill,
    Strict,
    Tier,
    Timestamp,
    Years,
    normalize_skill,
)
from shared.errors import Invalid

SkillList = Annotated[list[Skill], Field(max_length=100)]


def field_error(field: str, message: str, value: Any = None) -> ValidationError:
    """A model-level rule's error naming one field (raised from a model validator: 422 naming `field`)."""
    return ValidationError.from_exception_data("request", [InitErrorDetails(
        type=PydanticCustomError("invalid", message), loc=(field,), input=value)])


def _iana_zone(name: str) -> str:
    # The zones zoneinfo knows by name (no paths, no abbreviations such as "CST" that mean several zones).
    if name not in zoneinfo.available_timezones():
        raise ValueError(f"'{name}' is not an IANA time zone (e.g. 'Europe/Berlin', 'Asia/Shanghai', 'UTC')")
    return name


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_iana_zone)]
QuestionId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]


def _dedupe_skills(skills: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for s in skills:
        seen.setdefault(normalize_skill(s), " ".join(s.split()))
    return list(seen.values())


class KnockoutQuestion(Strict):
    id: QuestionId
    question: Annotated[str, Field(min_length=1, max_length=500)]
    # The answer a candidate must give to stay in; any other answer screens them out.
    required_answer: StrictBool = True


EmploymentType = Literal["full_time", "part_time", "contract", "internship", "temporary"]
# A job's description: plain text or Markdown, rendered safely on the careers site (no raw HTML).
Description = Annotated[str, StringConstraints(max_length=20_000)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]  # ISO 4217


class SalaryRange(Strict):
    """The pay a posting states (many jurisdictions require it): `min` to `max` per `period`."""

    min: Annotated[float, Field(strict=True, ge=0, le=1e9)]
    max: Annotated[float, Field(strict=True, ge=0, le=1e9)]
    currency: Currency
    period: Literal["year", "month", "hour"]

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, v: float, info) -> float:
        if "min" in info.data and v < info.data["min"]:
            raise ValueError("must not be below min")
        return v


class PostingFields(Strict):
    """What a requisition shows on the careers site (the careers issue); every field has a default."""

    description: Description = ""
    employment_type: EmploymentType = "full_time"
    salary_range: SalaryRange | None = None
    remote: StrictBool = False
    closes_at: Timestamp | None = None
    published: StrictBool = False


class NewRequisition(PostingFields):
    title: Name
    division: Division
    department: Name
    tier: Tier
    urgent: StrictBool = False
    required_skills: Annotated[SkillList, Field(min_length=1)]
    skills: SkillList = []
    min_years: Annotated[Years, Field(ge=0, le=60)] = 0
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    headcount: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    knockout_questions: Annotated[list[KnockoutQuestion], Field(max_length=20)] = []

    _norm = field_validator("required_skills", "skills")(classmethod(lambda cls, v: _dedupe_skills(v)))


class RequisitionPatch(Strict):
    """`PATCH /v1/requisitions/{id}`: any field of POST (division excepted: a requisition stays in its
    division) and of the posting; a field left out is unchanged, `null` clears an optional one."""

    # Only the fields sent travel (the RPC, shared/contracts/rpc.py `request`) and count (an Idempotency-Key's
    # body): "left out" and `null` stay apart.
    SENDS_ONLY_SET: ClassVar[bool] = True

    title: Name | None = None
    department: Name | None = None
    tier: Tier | None = None
    urgent: StrictBool | None = None
    required_skills: Annotated[SkillList, Field(min_length=1)] | None = None
    skills: SkillList | None = None
    min_years: Annotated[Years, Field(ge=0, le=60)] | None = None
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    headcount: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None
    knockout_questions: Annotated[list[KnockoutQuestion], Field(max_length=20)] | None = None
    description: Description | None = None
    employment_type: EmploymentType | None = None
    salary_range: SalaryRange | None = None
    remote: StrictBool | None = None
    closes_at: Timestamp | None = None
    published: StrictBool | None = None

    _norm = field_validator("required_skills", "skills")(
        classmethod(lambda cls, v: None if v is None else _dedupe_skills(v)))


Colour = Annotated[str, StringConstraints(max_length=7, pattern=r"^#[0-9a-fA-F]{6}$")]  # bounded for the API document


def _meeting_template(value: str) -> str:
    # Checked as the URL it becomes: http(s) only, whatever id fills it in.
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http or https URL")
    HttpUrl(value.replace("{interview_id}", "int_x"))
    return value


MeetingUrlTemplate = Annotated[str, StringConstraints(min_length=10, max_length=500), AfterValidator(_meeting_template)]
Locale = Literal["en", "zh-CN"]


class NewDivision(Strict):
    """`POST /v1/divisions` (admin): a division as a record; its id is the slug requisitions name."""

    id: Division
    name: Name
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"  # IANA, checked by zoneinfo
    locale: Locale = "en"
    careers_blurb: Annotated[str, StringConstraints(max_length=2000)] = ""
    colour: Colour = "#1f6f5c"
    # The interviews issue: a video interview with no meeting_url gets this, `{interview_id}` filled in.
    meeting_url_template: MeetingUrlTemplate | None = None


class DivisionPatch(Strict):
    SENDS_ONLY_SET: ClassVar[bool] = True  # as RequisitionPatch
    name: Name | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    locale: Locale | None = None
    careers_blurb: Annotated[str, StringConstraints(max_length=2000)] | None = None
    colour: Colour | None = None
    meeting_url_template: MeetingUrlTemplate | None = None


class CloseRequisition(Strict):
    reason: Literal["filled", "cancelled"]


class CandidateIn(Strict):
    name: Name
    email: EmailStr
    phone: Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$")] | None = None
    skills: SkillList = []
    years_experience: Annotated[Years, Field(ge=0, le=80)]
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    _norm = field_validator("skills")(classmethod(lambda cls, v: _dedupe_skills(v)))


class NewApplication(Strict):
    requisition_id: Annotated[str, Field(min_length=1, max_length=64)]
    source: Annotated[str, Field(min_length=1, max_length=80)]
    candidate: CandidateIn
    talent_pool_consent: StrictBool = False
    # Answers to the requisition's knock-out questions, by question id.
    answers: Annotated[dict[QuestionId, StrictBool], Field(max_length=20)] = {}


# Files (CVs and others): PDF, DOCX or TXT by content, at most 10 MB (api-v1 "Careers, documents").
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# The file travels to sourcing base64-encoded in the RPC: 4/3 of its size, plus padding.
MAX_DOCUMENT_BASE64 = (MAX_DOCUMENT_BYTES + 2) // 3 * 4
DocumentKind = Literal["cv", "other"]
Filename = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class DocumentUpload(Strict):
    """A file as the gateway hands it on: its name as sent, its bytes base64-encoded. The type is decided by
    sourcing from the content (shared/documents.py), never from the name or a declared content type."""

    filename: Filename
    data: Annotated[str, StringConstraints(min_length=1, max_length=MAX_DOCUMENT_BASE64)]


class PublicApplication(Strict):
    """An application a candidate makes themselves on a careers site (`POST /careers/jobs/{id}/apply`,
    `POST /v1/public/jobs/{id}/applications`), after the gateway's abuse controls."""

    requisition_id: Annotated[str, Field(min_length=1, max_length=64)]
    source: Annotated[str, Field(min_length=1, max_length=80)] = "careers"
    candidate: CandidateIn
    cover_note: Annotated[str, StringConstraints(max_length=5000)] = ""
    answers: Annotated[dict[QuestionId, StrictBool], Field(max_length=20)] = {}
    talent_pool_consent: StrictBool = False
    privacy_ack: Literal[True]
    locale: Locale = "en"
    cv: DocumentUpload | None = None


class CommunitySignupIn(Strict):
    """`POST /careers/community`: joining the talent community (double opt-in: a pending sign-up until the
    emailed link is confirmed). `divisions` empty: interested in every division."""

    name: Name
    email: EmailStr
    skills: SkillList = []
    divisions: Annotated[list[Division], Field(max_length=50)] = []
    consent: Literal[True]
    locale: Locale = "en"

    _norm = field_validator("skills")(classmethod(lambda cls, v: _dedupe_skills(v)))
    _divisions = field_validator("divisions")(classmethod(lambda cls, v: sorted(set(v))))


class NewDocument(Strict):
    """`POST /v1/applications/{id}/documents` (recruiter, hr): a file a recruiter attaches."""

    kind: DocumentKind = "other"
    document: DocumentUpload


class ScreeningOverride(Strict):
    passed: StrictBool
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


InterviewFormat = Literal["onsite", "video", "phone"]
MeetingUrl = Annotated[HttpUrl, UrlConstraints(max_length=2000, allowed_schemes=["http", "https"])]
DurationMinutes = Annotated[StrictInt, Field(ge=1, le=480)]
MAX_SLOTS = 10
Place = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Instructions = Annotated[str, StringConstraints(max_length=2000)]
Panel = Annotated[list[Name], Field(min_length=1, max_length=20)]


def _unique_folded(v: list[str] | None) -> list[str] | None:
    if v is not None and len({x.casefold() for x in v}) != len(v):
        raise ValueError("entries must be unique")
    return v


class NewInterview(Strict):
    """`POST /v1/applications/{id}/interviews`: a time (`starts_at`, or `scheduled_at` as before the interviews
    issue) or 2 to 10 `slots` for the candidate to pick from, exactly one of them. `timezone` null: the
    division's. Slots in the past are refused by the service (it knows the time). `allow_clash`: schedule even
    when a panel member sits in an overlapping interview (the interview then lists its `clashes`)."""

    interviewers: Panel
    competencies: Annotated[list[Skill], Field(min_length=1, max_length=30)]
    starts_at: Timestamp | None = None
    scheduled_at: Timestamp | None = None
    slots: Annotated[list[Timestamp], Field(min_length=2, max_length=MAX_SLOTS)] | None = None
    duration_minutes: DurationMinutes = 60
    timezone: TimeZone | None = None
    format: InterviewFormat = "video"
    location: Place | None = None
    meeting_url: MeetingUrl | None = None
    instructions: Instructions | None = None
    allow_clash: StrictBool = False

    _unique = field_validator("interviewers", "competencies")(classmethod(lambda cls, v: _unique_folded(v)))

    @field_validator("slots")
    @classmethod
    def _distinct_slots(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("slots must be distinct start times")
        return v

    @model_validator(mode="after")
    def _one_time(self):
        given = [f for f in ("starts_at", "scheduled_at", "slots") if getattr(self, f) is not None]
        if not given:
            raise field_error("starts_at", "give starts_at (or scheduled_at), or slots for the candidate to pick")
        if len(given) > 1:
            raise field_error(given[1], "give only one of starts_at, scheduled_at and slots, "
                                        f"not {' and '.join(given)}")
        if self.scheduled_at is not None:  # the alias, read as starts_at from here on
            self.starts_at, self.scheduled_at = self.scheduled_at, None
        return self


class InterviewPatch(Strict):
    """`PATCH /v1/interviews/{id}` (recruiter, hr): a field left out is unchanged; `null` clears `location`,
    `meeting_url` or `instructions`. Every change raises the interview's `sequence`."""

    starts_at: Timestamp | None = None
    duration_minutes: DurationMinutes | None = None
    timezone: TimeZone | None = None
    format: InterviewFormat | None = None
    location: Place | None = None
    meeting_url: MeetingUrl | None = None
    instructions: Instructions | None = None
    interviewers: Panel | None = None
    allow_clash: StrictBool = False

    _unique = field_validator("interviewers")(classmethod(lambda cls, v: _unique_folded(v)))
    _NOT_CHANGES = frozenset({"allow_clash", "interview_id"})  # the RPC's arguments add the interview's id

    @model_validator(mode="after")
    def _something(self):
        changed = self.model_fields_set - self._NOT_CHANGES
        if not changed:
            raise field_error("starts_at", "nothing to change: give at least one field")
        for name in ("starts_at", "duration_minutes", "timezone", "format", "interviewers"):
            if name in changed and getattr(self, name) is None:
                raise field_error(name, "cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the request names (JSON form), allow_clash aside."""
        return self.model_dump(mode="json", include=self.model_fields_set - self._NOT_CHANGES)


class PanelMember(Strict):
    """A panel member as the gateway resolved it (gateway/panel.py): the name, and the email of its interviewer
    key (None: none given). Travels with scheduling and re-staffing, never from a request body."""

    name: Name
    email: EmailStr | None = None


PanelContacts = Annotated[list[PanelMember], Field(max_length=20)]


class InterviewCancelIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AttendanceIn(Strict):
    candidate: Literal["attended", "no_show"]


class SlotPickIn(Strict):
    """`POST /portal/{token}/slot`: one of the offered start times."""

    starts_at: Timestamp


class OtherTimesIn(Strict):
    """`POST /portal/{token}/other-times`: none of the slots suits the candidate; HR sees the note."""

    note: Annotated[str, StringConstraints(max_length=1000)] = ""


KitText = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class KitCompetency(Strict):
    questions: Annotated[list[KitText], Field(max_length=30)] = []
    guidance: Annotated[str, StringConstraints(max_length=4000)] = ""


class InterviewKitIn(Strict):
    """`PUT /v1/requisitions/{id}/kit` (hr, recruiter): questions and guidance per competency, for the panel."""

    competencies: Annotated[dict[Skill, KitCompetency], Field(max_length=30)]

    @field_validator("competencies")
    @classmethod
    def _distinct(cls, v):
        if len({normalize_skill(k) for k in v}) != len(v):
            raise ValueError("competencies must be distinct (compared case-insensitively)")
        return v


class ScorecardIn(Strict):
    interviewer: Name
    ratings: Annotated[dict[Skill, Annotated[StrictInt, Field(ge=1, le=5)]], Field(min_length=1, max_length=30)]
    recommendation: Literal["strong_yes", "yes", "no", "strong_no"]
    highlights: Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]], Field(max_length=20)] = []
    notes: ShortText = ""


class DecisionIn(Strict):
    outcome: Literal["pass", "fail"]
    note: ShortText | None = None
    # The interviews issue: `reason` names why a candidate is rejected; an alias of `note`, for a fail only.
    reason: ShortText | None = None

    # The interviews issue: a pass may carry the offer's terms (api-v1 "Interviews, offers"), so a basic
    # role's offer notice goes at once with them; a core role's wait for the last approval with it.
    offer: OfferTerms | None = None

    @model_validator(mode="after")
    def _reason_is_note(self):
        if self.offer is not None and self.outcome != "pass":
            raise field_error("offer", "an offer goes with a pass")
        if self.reason is None:
            return self
        if self.outcome != "fail":
            raise field_error("reason", "a reason goes with a fail; a pass takes a note")
        if self.note is not None and self.note != self.reason:
            raise field_error("reason", "give note or reason, not both")
        self.note, self.reason = self.reason, None
        return self


class ApprovalDecisionIn(Strict):
    decision: Literal["approve", "reject"]
    note: ShortText | None = None


class ConfirmationIn(Strict):
    result: Literal["confirmed", "unreachable"]
    note: ShortText | None = None


class OutcomeIn(Strict):
    outcome: Literal["hired", "no_show", "withdrawn"]


def _iso_date(value: Any) -> Any:
    # Lax date parsing takes "2027-01-04T00:00:00" and midnight Unix seconds too: a date is YYYY-MM-DD only.
    if isinstance(value, datetime) or not isinstance(value, str | date):
        raise ValueError("must be an ISO-8601 date string, e.g. 2027-01-04")
    if isinstance(value, str) and (len(value) != 10 or value[4] != "-" or value[7] != "-"):
        raise ValueError("must be an ISO-8601 date string, e.g. 2027-01-04")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date),
                    WithJsonSchema({"type": "string", "format": "date", "minLength": 10, "maxLength": 10})]
# An offer's expiry is an instant: one sent without a zone is read as UTC, as everywhere in api-v1.
AwareTimestamp = Annotated[Timestamp, AfterValidator(lambda v: v if v.tzinfo else v.replace(tzinfo=UTC))]
Period = Literal["year", "month", "hour"]


class Salary(Strict):
    """An offer's pay: `amount` `currency` per `period`. The bound is wide for currencies such as VND or IDR,
    where a yearly salary passes a billion."""

    amount: Annotated[float, Field(strict=True, gt=0, le=1e12, allow_inf_nan=False)]
    currency: Currency
    period: Period


class OfferTerms(Strict):
    """`POST /v1/applications/{id}/offer` (api-v1 "Interviews, offers"), also `offer` inside a `pass` decision.

    What the model checks alone: the types, 1 to 5 distinct start dates, a message of at most 2000 characters.
    What needs a clock is the service's (`check_dates`): no start date in the past, an expiry still ahead."""

    salary: Salary
    start_date_options: Annotated[list[IsoDate], Field(min_length=1, max_length=5)]
    expires_at: AwareTimestamp
    message: ShortText | None = None

    @field_validator("start_date_options")
    @classmethod
    def _distinct(cls, v: list[date]) -> list[date]:
        if len(set(v)) != len(v):
            raise ValueError("dates must be unique")
        return v

    def check_dates(self, now: datetime, timezone: str = "UTC") -> None:
        """Raise Invalid naming the field when a start date is before today or the offer expires by `now`;
        "today" is the date in `timezone` (the division's), so a date is not refused while it is still today
        there."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        today = now.astimezone(ZoneInfo(timezone)).date()
        for i, option in enumerate(self.start_date_options):
            if option < today:
                raise Invalid(f"start_date_options.{i}: {option.isoformat()} is in the past (today is "
                              f"{today.isoformat()} in {timezone})", field=f"start_date_options.{i}")
        if self.expires_at <= now:
            raise Invalid("expires_at: must be in the future", field="expires_at")


# DecisionIn names OfferTerms before it is defined.
DecisionIn.model_rebuild()

PortalReply = Literal["accept", "decline", "question"]


class PortalResponseIn(Strict):
    """The candidate's answer on the portal (`POST /portal/{token}/response`): to an offer, `accept` with the
    chosen `start_date`, `decline` with an optional `reason`, or a `question` to HR with its `message`; to a
    re-engagement, `accept` or `decline` alone. Whether a start date is required, and among which options, is
    the offer's business (an offer made before terms existed has none), so the model checks only that each
    field goes with its answer."""

    response: PortalReply
    start_date: Annotated[IsoDate | None, Field(validate_default=True)] = None
    reason: Annotated[ShortText | None, Field(validate_default=True)] = None
    message: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None, Field(validate_default=True)] = None

    @field_validator("start_date", "reason", "message")
    @classmethod
    def _goes_with_its_answer(cls, v: Any, info: ValidationInfo) -> Any:
        answer = info.data.get("response")
        if answer is None:  # the response itself is at fault; that error is the one reported
            return v
        owner = {"start_date": "accept", "reason": "decline", "message": "question"}[info.field_name]
        if v is not None and answer != owner:
            raise ValueError(f"only goes with response '{owner}'")
        if v is None and info.field_name == "message" and answer == "question":
            raise ValueError("a question needs its message")
        return v


def _json_boolean(value: Any) -> Any:
    # A Literal[False] alone takes 0 and 0.0 too (they equal False in Python): only a JSON `false` is false.
    if not isinstance(value, bool):
        raise ValueError("must be false (a JSON boolean)")
    return value


class ConsentIn(Strict):
    """The candidate's talent-pool consent, from the portal: it can only be withdrawn there."""

    # found by the API fuzz test (a portal token pinned): `{"talent_pool": 0}` withdrew the consent
    talent_pool: Annotated[Literal[False], BeforeValidator(_json_boolean)]


class SurveyIn(Strict):
    """A candidate's satisfaction survey, answered on the portal."""

    score: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=2000)] = ""


Seconds = Annotated[StrictInt, Field(ge=0, le=366 * 86400)]
WebhookUrl = Annotated[HttpUrl, UrlConstraints(max_length=2000, allowed_schemes=["http", "https"])]
WebhookSecret = Annotated[str, StringConstraints(min_length=16, max_length=200)]


class NotificationPolicy(Strict):
    """Per-division timing policy; every delay in seconds (so tests can use seconds, production hours)."""

    guide_after: Seconds = 3600
    hr_confirm_after: Seconds = 86400
    urgent_confirm_within: Seconds = 7200
    approval_sla: Seconds = 86400
    rejection_delay: Seconds = 0
    survey_after: Seconds = 172800
    locale: Literal["en", "zh-CN"] = "en"
    # A talent-pool candidate's prior passed interview is reused when it is at most this old.
    reuse_interview_within: Seconds = 180 * 86400
    # Where HR reminders and escalations go (division HR, then group HR).
    hr_email: EmailStr | None = None
    group_hr_email: EmailStr | None = None
    # HR notices (reminders, escalations) go to this URL as signed JSON instead of email, when set.
    hr_webhook_url: WebhookUrl | None = None
    # Signs the webhook body (HMAC-SHA256). Write-only: reads answer null and `hr_webhook_secret_set`.
    hr_webhook_secret: WebhookSecret | None = Field(default=None, repr=False, json_schema_extra={"writeOnly": True})
    # Candidate-facing choices: the evidence (interview average, match, highlights) in a basic role's offer;
    # how long after a screen-out its rejection goes (nobody is rejected a second after applying); where
    # candidates' replies go (`Reply-To`; default `hr_email`, then the CANDIDATE_REPLY_TO setting).
    share_evidence: StrictBool = True
    screen_out_rejection_delay: Seconds = 86400
    reply_to: EmailStr | None = None
    # The interviews issue: the candidate is reminded this many seconds before each interview (one reminder
    # per entry; [] for none), and each panel member whose scorecard is missing this long after its end.
    interview_reminders: Annotated[list[Seconds], Field(max_length=5)] = [86400, 7200]
    scorecard_reminder_after: Seconds = 7200

    @field_validator("interview_reminders")
    @classmethod
    def _distinct_reminders(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("interview_reminders: each offset once")
        return sorted(v, reverse=True)
    # The offers work: HR is told this long before an offer's `expires_at` when the candidate has not answered.
    offer_expiry_warning: Seconds = 86400
    # Issue 20: the division's chat (services/notification/chat.py). A Slack incoming webhook and/or a Microsoft
    # Teams workflow webhook get HR reminders, escalations, overdue approvals and scorecards, and mentions. The
    # URL is the credential: write-only like the secret (reads answer null and `*_webhook_set`), sealed at rest.
    slack_webhook_url: WebhookUrl | None = Field(default=None, repr=False, json_schema_extra={"writeOnly": True})
    teams_webhook_url: WebhookUrl | None = Field(default=None, repr=False, json_schema_extra={"writeOnly": True})


class NotificationPolicyPut(NotificationPolicy):
    """The PUT body: a policy, or a GET's answer sent back as is (its `division`, which must match the path,
    and `hr_webhook_secret_set` are tolerated and ignored)."""

    division: Division | None = None
    hr_webhook_secret_set: StrictBool | None = None
    # A chat URL not sent is kept (a GET's body sent back keeps it); `false` here with no URL removes it.
    slack_webhook_set: StrictBool | None = None
    teams_webhook_set: StrictBool | None = None


RetentionDays = Annotated[StrictInt, Field(ge=0, le=3650)]


class RetentionPolicyIn(Strict):
    """How long a division keeps the personal data of candidates whose applications ended without a hire,
    in days (0: at the next retention sweep). A GET's answer may be sent back as is."""

    rejected_days: RetentionDays
    pool_days: RetentionDays
    division: Division | None = None  # tolerated (a GET's answer), must match the path

    def stored(self) -> dict:
        return {"rejected_days": self.rejected_days, "pool_days": self.pool_days}


class ApiKeyIn(Strict):
    name: Name
    role: Role
    divisions: Annotated[list[Division], Field(max_length=100)] = []
    expires_at: Timestamp | None = None
    # Where an interviewer's invitations and scorecard reminders go (the interviews issue; users replace keys
    # in issue 20). Optional: a panel member without one is left out of emails, never of the panel.
    email: EmailStr | None = None
    # The user the key belongs to (issue 20): its role must be the user's and its divisions among theirs, and
    # it ends when the user is deactivated. Without one, the key is the named service account's.
    user_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class UserIn(Strict):
    """`POST /v1/users` (issue 20): a staff user, invited by email (docs/decisions/008-users.md). An admin has
    every division; anyone else needs at least one registered division."""

    email: EmailStr
    name: Name
    role: Role
    divisions: Annotated[list[Division], Field(max_length=100)] = []
    locale: Locale = "en"
    timezone: TimeZone = "UTC"


# ---------------------------------------------------------------------------------------------- the board (issue 20)
# A tag: a recruiter's label on an application ("bilingual", "night shift"), shown on board cards and filtered
# by. Compared like skills (trimmed, spaces collapsed, case-folded) and stored so; no angle brackets or control
# characters (it goes on cards and in URLs as it is).
def _tag(value: str) -> str:
    tag = normalize_skill(value)
    if not tag:
        raise ValueError("a tag cannot be blank")
    return tag


Tag = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f<>]+$"),
                AfterValidator(_tag)]
TagList = Annotated[list[Tag], Field(max_length=20)]
MAX_TAGS = 20  # on one application


class TagsIn(Strict):
    """`POST /v1/applications/tags`: tags added to and removed from each of up to 500 applications at once
    (the board's bulk action); each change is kept in the application's `tag_history`."""

    application_ids: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=100)]],
                               Field(min_length=1, max_length=500)]
    add: TagList = []
    remove: TagList = []

    @model_validator(mode="after")
    def _something_to_do(self):
        if not self.add and not self.remove:
            raise field_error("add", "name a tag to add or to remove")
        both = sorted(set(self.add) & set(self.remove))
        if both:
            raise field_error("remove", f"a tag cannot be added and removed at once: {', '.join(both)}")
        return self


class NoteIn(Strict):
    """`POST /v1/applications/{id}/notes` (issue 20): an internal note on an application; `@` and a user's email
    or id mentions them (the gateway resolves mentions: it owns the users)."""

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
