"""The sourcing service's RPCs (shared/contracts/rpc.py): requisitions, candidates and applications, the
reports drawn from the applications' timelines, and the candidates' rights (erasure, access, retention).

The answer models are also what the gateway's OpenAPI document says these routes answer (gateway/openapi.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt, StringConstraints

from shared.contracts import commands as cmd
from shared.contracts.common import DEFAULT_PAGE, AppStatus, Id, RpcPageLimit
from shared.contracts.rpc import ADMIN, ANYONE, HR, RECRUITER, STAFF, Args, Rpc, View
from shared.contracts.screening import Screening

SERVICE = "sourcing"

# What api-v1 says of every list: `?limit=` (default 50, max 500: shared/contracts/common.py, the one page
# size) and `?cursor=` (the gateway's bounds).
Limit = RpcPageLimit
Cursor = Annotated[str, StringConstraints(max_length=200)]
# A division as a filter or a path names it (no pattern: one the caller cannot see is simply not found).
DivisionName = Annotated[str, StringConstraints(min_length=1, max_length=80)]
# A report's period, as the gateway takes `from` and `to` (parsed by shared/reports.py, which names them).
PeriodEnd = Annotated[str, StringConstraints(max_length=40)]


# ---------------------------------------------------------------------------------------------- answers
class KnockoutQuestionView(View):
    id: str
    question: str
    required_answer: bool


class SalaryRangeView(View):
    min: float
    max: float
    currency: str
    period: Literal["year", "month", "hour"]


class RequisitionChange(View):
    """One line of a requisition's history: who did what, and which fields an edit changed."""

    at: str
    by: str
    action: Literal["created", "edited", "published", "unpublished", "closed"]
    fields: list[str] = []


class Requisition(View):
    id: str
    status: Literal["open", "closed"]
    title: str
    division: str
    department: str
    tier: Literal["basic", "core"]
    urgent: bool
    required_skills: list[str]
    skills: list[str]
    min_years: float
    location: str | None
    headcount: int
    knockout_questions: list[KnockoutQuestionView]
    created_at: str
    closed_at: str | None
    close_reason: Literal["filled", "cancelled"] | None
    # The posting (the careers issue): what the careers site shows, and whether it shows it.
    description: str = ""
    employment_type: cmd.EmploymentType = "full_time"
    salary_range: SalaryRangeView | None = None
    remote: bool = False
    closes_at: str | None = None
    published: bool = False
    published_at: str | None = None
    updated_at: str | None = None
    history: list[RequisitionChange] = []


class RequisitionPage(View):
    items: list[Requisition]
    next_cursor: str | None


class DivisionRecord(View):
    """A division as a record (api-v1 "People"; its careers page's name, blurb and colour since the careers
    issue). Only a division with a record is registered (issue 20): requisitions, keys and policies name one."""

    id: str
    name: str
    timezone: str
    locale: Literal["en", "zh-CN"]
    careers_blurb: str
    colour: str
    meeting_url_template: str | None = None  # the interviews issue: `{interview_id}` is filled in
    created_at: str | None = None
    updated_at: str | None = None


class DivisionList(View):
    items: list[DivisionRecord]


class PublicQuestion(View):
    """A knock-out question as a candidate sees it: never the answer that keeps them in."""

    id: str
    question: str


class PublicJob(View):
    """A published, open requisition as the careers site, the feeds and `GET /v1/public/jobs` show it: the
    posting only (no headcount, tier, urgency, history or knock-out answers)."""

    id: str
    title: str
    division: str
    department: str
    location: str | None
    remote: bool
    employment_type: cmd.EmploymentType
    salary_range: SalaryRangeView | None
    description: str
    required_skills: list[str]
    skills: list[str]
    min_years: float
    knockout_questions: list[PublicQuestion]
    published_at: str | None
    closes_at: str | None
    updated_at: str | None
    division_profile: DivisionRecord


class PublicJobPage(View):
    items: list[PublicJob]
    next_cursor: str | None
    # The divisions that have published jobs (the careers site's division filter and pages).
    divisions: list[DivisionRecord]


class DocumentView(View):
    """A file of an application (a CV or another document) and what was read from it."""

    id: str
    application_id: str
    kind: cmd.DocumentKind
    filename: str
    content_type: Literal["application/pdf",
                          "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          "text/plain"]
    size: int
    uploaded_at: str
    uploaded_by: str  # "candidate" for a careers application, else the staff member's name
    text_status: Literal["pending", "extracted", "unreadable"]
    skills_found: list[str]
    years_found: float | None = None
    unreadable_reason: str | None = None
    text: str | None = Field(default=None, description="the extracted text (staff only; null until read)")
    # Whose file it is (the gateway's audit log of reads names the candidate and division).
    candidate_id: str | None = None
    division: str | None = None


class DocumentList(View):
    items: list[DocumentView]


class DocumentContent(View):
    """A file to download: its bytes base64-encoded (the gateway streams them with the type and name)."""

    id: str
    application_id: str
    filename: str
    content_type: str
    size: int
    data: str
    candidate_id: str | None = None
    division: str | None = None


class TimelineEntry(View):
    at: str
    status: AppStatus
    detail: str


class Confirmation(View):
    """HR's phone confirmation of an offer."""

    result: Literal["confirmed", "unreachable"]
    note: str | None
    by: str
    at: str


class OfferQuestion(View):
    """A candidate's question to HR about their offer, from the portal."""

    id: str
    message: str
    asked_at: str


class OfferView(View):
    """An offer's terms (api-v1 "Interviews, offers") as sourcing holds them: `company` and `timezone` (the
    division's, for the letter and the expiry) and how it was answered.
    `expired`: `expires_at` has passed (at the time of reading) and the offer can no longer be accepted."""

    version: int
    salary: dict[str, Any] = Field(description="{amount, currency, period}")
    start_date_options: list[str]
    expires_at: str
    message: str | None
    company: str
    timezone: str
    set_at: str | None
    set_by: str | None
    expired: bool
    accepted_start_date: str | None = None
    decline_reason: str | None = None


class Offer(OfferView):
    """`POST /v1/applications/{id}/offer`'s answer: the terms with the application they belong to."""

    application_id: str
    status: AppStatus


class TagChange(View):
    """One change of an application's tags (the board, issue 20): who, when, what was added and removed."""

    at: str
    by: str
    added: list[str]
    removed: list[str]


class ApplicationRecord(View):
    """An application as sourcing records it (the answer of a confirmation, an outcome, a candidate's response)."""

    id: str
    requisition_id: str
    requisition_title: str
    candidate_id: str
    division: str
    department: str
    tier: Literal["basic", "core"]
    urgent: bool
    source: str
    status: AppStatus
    screening: Screening | None
    interview: dict[str, Any] | None = Field(description="the interview summary: average, by_competency, ...")
    decision: dict[str, Any] | None
    confirmation: Confirmation | None
    talent_pool_consent: bool
    timeline: list[TimelineEntry]
    created_at: str
    updated_at: str
    # The offers work: the offer's terms once set (null before).
    offer: OfferView | None = None
    offer_questions: list[OfferQuestion] = Field(default=[], description="the candidate's questions to HR")
    # The board (issue 20): recruiters' labels, and every change of them (internal: never shown to candidates).
    tags: list[str] = []
    tag_history: list[TagChange] = []


class Application(ApplicationRecord):
    """An application as a recruiter reads it: with who applied, by the name their division knows."""

    candidate_name: str | None = Field(description="who applied (null once the candidate is erased)")


class ApplicationPage(View):
    items: list[Application]
    next_cursor: str | None


class Pipeline(View):
    """`GET /v1/requisitions/{id}/pipeline`: how many applications each status holds (the filters applied), and
    every source and tag among the requisition's applications (what the board's filters offer)."""

    requisition_id: str
    total: int
    counts: dict[str, int]
    sources: list[str]
    tags: list[str]


class TaggedApplication(View):
    id: str
    tags: list[str]


class TaggedApplications(View):
    items: list[TaggedApplication]


class ApplicationAccepted(View):
    id: str
    candidate_id: str
    status: AppStatus


class Candidate(View):
    """The candidate as one division's profile tells it (docs/decisions/002-candidates-per-division.md)."""

    id: str
    name: str
    email: str
    phone: str | None
    skills: list[str]
    years_experience: float | None
    location: str | None
    applications: list[str]


class CandidateHit(View):
    """A candidate found by `GET /v1/candidates?q=` (issue 20): one division's record of the person (a person
    known to two of the caller's divisions is two hits, each naming its division), and what matched."""

    id: str
    division: str
    name: str
    email: str | None
    phone: str | None
    skills: list[str]
    matched: Literal["name", "email", "phone", "skill"]


class CandidateSearchPage(View):
    items: list[CandidateHit]
    next_cursor: str | None


class ProfileExport(View):
    """One division's record of the person."""

    division: str
    name: str
    email: str
    phone: str | None
    skills: list[str]
    years_experience: float | None
    location: str | None
    created_at: str | None
    updated_at: str | None


class ExportedApplication(ApplicationRecord):
    answers: dict[str, bool]
    submitted_by: str | None
    cover_note: str | None = None  # a careers application's note (the careers issue)


class Note(View):
    """An internal note on an application (issue 20): staff only, never shown to the candidate. `mentions`: the
    ids of the users of the application's division it mentions."""

    id: str
    application_id: str
    candidate_id: str
    division: str
    author: str
    body: str
    mentions: list[str]
    created_at: str


class NoteList(View):
    items: list[Note]


class NotePage(View):
    items: list[Note]
    next_cursor: str | None


class SourcingExport(View):
    """Right of access: the candidate, every division's profile and every application, whole."""

    candidate: Candidate
    profiles: list[ProfileExport]
    applications: list[ExportedApplication]
    # Every file of every application: metadata and extracted text, not the bytes (the careers issue).
    documents: list[DocumentView] = []
    # Staff's notes on the applications (issue 20): internal, yet the candidate's personal data.
    notes: list[Note] = []


class ErasureStep(View):
    status: Literal["pending", "done"]
    at: str | None
    counts: dict[str, int] = Field(description="records erased or anonymised, by kind")


class Erasure(View):
    id: str
    candidate_id: str
    application_ids: list[str]
    reason: Literal["request", "retention"]
    status: Literal["in_progress", "completed"]
    requested_at: str
    completed_at: str | None
    services: dict[str, ErasureStep] = Field(description="per service (and the gateway): its part of the erasure")


class RetentionPolicy(View):
    division: str
    rejected_days: int
    pool_days: int


class Report(View):
    """What every report echoes of what it was asked: the division and the period `[from, to)`."""

    model_config = ConfigDict(serialize_by_alias=True)

    division: str | None
    from_: str | None = Field(alias="from")
    to: str | None


class FunnelStage(View):
    status: AppStatus
    reached: int = Field(description="applications that reached it (reaching a stage implies the earlier ones)")
    conversion: float | None = Field(description="reached / those at the stage before it on their own path")
    drop_off: float | None = Field(description="1 - conversion")
    median_seconds_in_stage: float | None = Field(description="over stays that ended with a next status")


class FunnelExits(View):
    screened_out: int
    rejected: int
    declined: int
    no_show: int
    withdrawn: int


class FunnelGroup(View):
    """One division's funnel (`group_by=division`)."""

    division: str
    applications: int
    stages: list[FunnelStage]
    exits: FunnelExits


class RequisitionFunnelGroup(FunnelGroup):
    """One requisition's funnel (`group_by=requisition`)."""

    requisition_id: str
    requisition_title: str | None


class FunnelReport(Report):
    requisition_id: str | None
    group_by: Literal["division", "requisition"]
    groups: list[FunnelGroup | RequisitionFunnelGroup]


class DaysFigures(View):
    median: float | None
    p90: float | None = Field(description="nearest rank: sorted values[ceil(0.9 n) - 1]")


class TimeToHireGroup(View):
    division: str
    tier: str | None
    applications: int
    offers: int
    hires: int
    to_offer_days: DaysFigures
    to_hire_days: DaysFigures


class TimeToHireReport(Report):
    groups: list[TimeToHireGroup]


class SourceFigures(View):
    source: str
    applications: int
    shortlisted: int
    interviewed: int
    offers: int
    hires: int
    shortlist_rate: float | None
    offer_rate: float | None
    hire_rate: float | None


class SourcesReport(Report):
    items: list[SourceFigures]


# ---------------------------------------------------------------------------------------------- arguments
class RequisitionArgs(Args):
    requisition_id: Id


class ListRequisitionsArgs(Args):
    division: DivisionName | None = None
    status: Literal["open", "closed"] | None = None
    urgent: bool | None = None
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None


class CloseRequisitionArgs(cmd.CloseRequisition):
    requisition_id: Id


class FastTrackArgs(Args):
    """A re-engaged pool candidate's application (talent_pool, as the system), maybe reusing a prior interview."""

    requisition_id: Id
    candidate_id: Id
    reengagement_id: Id
    reuse_interview_from: Id | None = None
    # A talent-community member (issue 18) has no candidate yet: `candidate_id` names their sign-up and the
    # application goes to the candidate this email finds or makes (as submit_application would).
    candidate: cmd.CandidateIn | None = None


class ApplicationArgs(Args):
    application_id: Id


class BoardFilters(Args):
    """The board's filters (issue 20): the source, the screening verdict, a tag."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    passed: bool | None = None
    tag: cmd.Tag | None = None


ApplicationSort = Literal["oldest", "newest", "match"]  # match: the best screening match first


class ListApplicationsArgs(BoardFilters):
    requisition_id: Id
    status: AppStatus | None = None
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None
    # The board (issue 20): several statuses at once (its "ended" column) and an order.
    statuses: Annotated[list[AppStatus], Field(max_length=20)] | None = None
    sort: ApplicationSort = "oldest"


class PipelineArgs(BoardFilters):
    requisition_id: Id


class TagApplicationsArgs(cmd.TagsIn):
    pass


class MentionedUser(Args):
    """A user a note mentions, as the gateway resolved them (it owns the users): where notification writes."""

    user_id: Id
    name: Annotated[str, StringConstraints(max_length=200)]
    email: Annotated[str, StringConstraints(max_length=320)]
    locale: Literal["en", "zh-CN"] = "en"


class AddNoteArgs(cmd.NoteIn):
    application_id: Id
    # Only active users of the application's division: the gateway resolves and filters them (it owns users).
    mentions: Annotated[list[MentionedUser], Field(max_length=50)] = []


class MentionedNotesArgs(Args):
    """The notes that mention a user (the console's inbox): the gateway names the signed-in user."""

    user_id: Id
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None


class CandidateArgs(Args):
    candidate_id: Id


# A search term: literal (a `.` or `(` typed is that character), at most 100 characters.
SearchTerm = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ApplicationSort = Literal["created_at", "-created_at", "updated_at", "-updated_at"]


class SearchCandidatesArgs(Args):
    """`q`: an email (exact, through the blind index), a phone number (exact, digits compared), else a name's
    beginning (any case) or a skill."""

    q: SearchTerm
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None


class SearchApplicationsArgs(Args):
    """Applications in the caller's divisions: of the candidates `q` finds (as SearchCandidatesArgs), of a
    status, a requisition, a source; sorted by `sort` (`-` for newest first)."""

    q: SearchTerm | None = None
    status: AppStatus | None = None
    requisition_id: Id | None = None
    source: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    sort: ApplicationSort = "-created_at"
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None


class ConfirmationArgs(cmd.ConfirmationIn):
    application_id: Id


class OutcomeArgs(cmd.OutcomeIn):
    application_id: Id


class CandidateResponseArgs(cmd.PortalResponseIn):
    application_id: Id


class MakeOfferArgs(cmd.OfferTerms):
    application_id: Id


class ReportArgs(Args):
    division: DivisionName | None = None
    start: PeriodEnd | None = None
    end: PeriodEnd | None = None


class FunnelArgs(ReportArgs):
    requisition_id: Id | None = None
    group_by: Literal["division", "requisition"] = "division"


class ErasureArgs(Args):
    erasure_id: Id


class ConfirmErasureArgs(Args):
    """The gateway's confirmation of its part of an erasure (its Redis records); services confirm by event."""

    erasure_id: Id
    party: Literal["gateway"]
    counts: dict[str, StrictInt]


class DivisionArgs(Args):
    division: DivisionName


class PatchRequisitionArgs(cmd.RequisitionPatch):
    requisition_id: Id


class DivisionIdArgs(Args):
    division_id: DivisionName


class PatchDivisionArgs(cmd.DivisionPatch):
    division_id: DivisionName


class PublicJobsArgs(Args):
    division: DivisionName | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None
    location: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: Limit = DEFAULT_PAGE
    cursor: Cursor | None = None


class DocumentArgs(Args):
    document_id: Id


class AttachDocumentArgs(cmd.NewDocument):
    application_id: Id


class PutRetentionPolicyArgs(cmd.RetentionPolicyIn):
    """The path's division; the body's own (a GET's answer sent back) is checked against it by the gateway."""

    division: DivisionName


# ---------------------------------------------------------------------------------------------- declarations
# Named after their methods; the reports' end in Rpc, as their answers keep the names the OpenAPI document uses.
CreateRequisition = Rpc(SERVICE, "create_requisition", cmd.NewRequisition, Requisition, (HR, ADMIN))
GetRequisition = Rpc(SERVICE, "get_requisition", RequisitionArgs, Requisition, STAFF)
ListRequisitions = Rpc(SERVICE, "list_requisitions", ListRequisitionsArgs, RequisitionPage, STAFF)
CloseRequisition = Rpc(SERVICE, "close_requisition", CloseRequisitionArgs, Requisition, (HR, ADMIN))

PatchRequisition = Rpc(SERVICE, "patch_requisition", PatchRequisitionArgs, Requisition, (HR, ADMIN),
                       "PATCH /v1/requisitions/{id}: edit fields and the posting; recorded in its history")
ListDivisions = Rpc(SERVICE, "list_divisions", Args, DivisionList, STAFF)
GetDivision = Rpc(SERVICE, "get_division", DivisionIdArgs, DivisionRecord, STAFF)
CreateDivision = Rpc(SERVICE, "create_division", cmd.NewDivision, DivisionRecord, (ADMIN,))
PatchDivision = Rpc(SERVICE, "patch_division", PatchDivisionArgs, DivisionRecord, (ADMIN,))
ListPublicJobs = Rpc(SERVICE, "list_public_jobs", PublicJobsArgs, PublicJobPage, (ADMIN,),
                     "the careers site calls as the system: published, open jobs only")
GetPublicJob = Rpc(SERVICE, "get_public_job", RequisitionArgs, PublicJob, (ADMIN,),
                   "the careers site calls as the system: not found unless published and open")
ApplyToJob = Rpc(SERVICE, "apply_to_job", cmd.PublicApplication, ApplicationAccepted, (ADMIN,),
                 "the careers site calls as the system after its abuse controls")
ListDocuments = Rpc(SERVICE, "list_documents", ApplicationArgs, DocumentList, ANYONE,
                    "scoped like the application; an interviewer only for applications whose panel it sits on")
GetDocument = Rpc(SERVICE, "get_document", DocumentArgs, DocumentContent, ANYONE,
                  "scoped like the application; an interviewer only for applications whose panel it sits on")
AttachDocument = Rpc(SERVICE, "attach_document", AttachDocumentArgs, DocumentView, (RECRUITER, HR, ADMIN))
SubmitApplication = Rpc(SERVICE, "submit_application", cmd.NewApplication, ApplicationAccepted, (RECRUITER, HR, ADMIN))
SubmitFastTrackApplication = Rpc(SERVICE, "submit_fast_track_application", FastTrackArgs, ApplicationAccepted,
                                 (ADMIN,), "talent_pool acts as the system; an admin may do it by hand")
GetApplication = Rpc(SERVICE, "get_application", ApplicationArgs, Application, STAFF)
ListApplications = Rpc(SERVICE, "list_applications", ListApplicationsArgs, ApplicationPage, STAFF)
PipelineSummary = Rpc(SERVICE, "pipeline_summary", PipelineArgs, Pipeline, STAFF,
                      "GET /v1/requisitions/{id}/pipeline: counts per status (filtered), the sources and tags there")
TagApplications = Rpc(SERVICE, "tag_applications", TagApplicationsArgs, TaggedApplications, (RECRUITER, HR, ADMIN),
                      "POST /v1/applications/tags: add and remove tags on many applications; kept in tag_history")
AddNote = Rpc(SERVICE, "add_note", AddNoteArgs, Note, STAFF,
              "POST /v1/applications/{id}/notes: an internal note; its mentions (resolved by the gateway) notified")
ListNotes = Rpc(SERVICE, "list_notes", ApplicationArgs, NoteList, STAFF, "GET /v1/applications/{id}/notes")
MentionedNotes = Rpc(SERVICE, "mentioned_notes", MentionedNotesArgs, NotePage, STAFF,
                     "the console's inbox: notes that mention the signed-in user, in the caller's divisions")
GetCandidate = Rpc(SERVICE, "get_candidate", CandidateArgs, Candidate, STAFF)
SearchCandidates = Rpc(SERVICE, "search_candidates", SearchCandidatesArgs, CandidateSearchPage, STAFF,
                       summary="candidates of the caller's divisions by name prefix, exact email or phone, or skill")
SearchApplications = Rpc(SERVICE, "search_applications", SearchApplicationsArgs, ApplicationPage, STAFF,
                         summary="applications of the caller's divisions by candidate, status, requisition, source")
RecordConfirmation = Rpc(SERVICE, "record_confirmation", ConfirmationArgs, ApplicationRecord, (HR, RECRUITER, ADMIN))
RecordOutcome = Rpc(SERVICE, "record_outcome", OutcomeArgs, ApplicationRecord, (HR, ADMIN))
CandidateResponse = Rpc(SERVICE, "candidate_response", CandidateResponseArgs, ApplicationRecord, (ADMIN,),
                        "the portal calls as the system after checking the candidate's token")

MakeOffer = Rpc(SERVICE, "make_offer", MakeOfferArgs, Offer, (HR, ADMIN),
                "POST /v1/applications/{id}/offer: the terms of a passed application's offer (offered, or "
                "awaiting_approval for a core role: shown to the candidate once approved)")

FunnelReportRpc = Rpc(SERVICE, "funnel_report", FunnelArgs, FunnelReport, STAFF,
                      "GET /v1/reports/funnel: per division or requisition, over applications received in [from, to)")
TimeToHireReportRpc = Rpc(SERVICE, "time_to_hire_report", ReportArgs, TimeToHireReport, STAFF,
                          "GET /v1/reports/time-to-hire: per division and tier")
SourcesReportRpc = Rpc(SERVICE, "sources_report", ReportArgs, SourcesReport, STAFF,
                       "GET /v1/reports/sources: per source channel")

EraseCandidate = Rpc(SERVICE, "erase_candidate", CandidateArgs, Erasure, (ADMIN,),
                     "Right to erasure: anonymise here, then every service erases its own")
GetErasure = Rpc(SERVICE, "get_erasure", ErasureArgs, Erasure, (ADMIN,))
ConfirmErasure = Rpc(SERVICE, "confirm_erasure", ConfirmErasureArgs, Erasure, (ADMIN,))
ExportCandidate = Rpc(SERVICE, "export_candidate", CandidateArgs, SourcingExport, (ADMIN,),
                      "Right of access: the candidate and every application, whole, in every division")
GetRetentionPolicy = Rpc(SERVICE, "get_retention_policy", DivisionArgs, RetentionPolicy, (HR, ADMIN))
PutRetentionPolicy = Rpc(SERVICE, "put_retention_policy", PutRetentionPolicyArgs, RetentionPolicy, (ADMIN,),
                         "how long the group keeps personal data is the group's decision")
