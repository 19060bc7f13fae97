"""The talent_pool service's RPCs (shared/contracts/rpc.py): one declaration each, and the answers they give."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.commands import CommunitySignupIn, PortalResponseIn
from shared.contracts.common import Id, IdList
from shared.contracts.queries import Cursor, Filter, Limit, ReportArgs, ReportPeriod
from shared.contracts.rpc import ADMIN, ANYONE, STAFF, SYSTEM_ONLY, Args, Rpc, View

SERVICE = "talent_pool"


# ---------------------------------------------------------------------------------------------- answers
class PriorInterview(View):
    """The passed interview that pooled the candidate."""

    requisition_id: str | None
    requisition_title: str | None
    application_id: str | None
    division: str | None
    average: float | None
    by_competency: dict[str, float]
    decided_at: str | None


class PoolEntry(View):
    candidate_id: str
    name: str
    skills: list[str]
    prior: PriorInterview
    reason: str
    pooled_at: str
    retain_until: str


class PoolPage(View):
    items: list[PoolEntry]
    next_cursor: str | None


class Match(View):
    candidate_id: str
    name: str
    score: float = Field(ge=0, le=100)
    matched_skills: list[str]
    missing_skills: list[str]
    prior_average: float | None
    reasons: list[str]
    pooled_reason: str | None


ReengagementStatus = Literal["pending", "accepted", "declined", "withdrawn"]


class Reengagement(View):
    """A re-engagement just requested (the candidate is being written to)."""

    id: str
    requisition_id: str
    candidate_id: str
    status: ReengagementStatus


class ReengagementDetail(View):
    """A re-engagement and where it stands: what the portal shows the candidate, and the right of access."""

    id: str
    requisition_id: str
    requisition_title: str | None
    division: str
    candidate_id: str
    status: ReengagementStatus
    application_id: str | None = Field(description="the application the acceptance created")
    fast_track: bool = Field(description="that application reuses the prior interview")
    created_at: str
    answered_at: str | None


class PoolConsent(View):
    """For the portal: whether the candidate is in the pool, and whether they withdrew their consent."""

    in_pool: bool
    withdrawn: bool


class ConsentWithdrawal(View):
    candidate_id: str
    talent_pool_consent: Literal[False]
    removed_from_pool: bool
    reengagements_withdrawn: int


class PoolProfile(View):
    """What one division's applications told the pool about the candidate (docs/decisions/002)."""

    division: str
    name: str
    skills: list[str]
    seen_at: str | None


class Pooling(View):
    application_id: str
    division: str
    reason: str
    pooled_at: str


class TalentPoolExport(View):
    pool_entry: PoolEntry | None
    profiles: list[PoolProfile]
    consent_withdrawn_at: str | None
    reengagements: list[ReengagementDetail]
    poolings: list[Pooling]


class CommunitySignupAccepted(View):
    """The answer to joining: the same whether the address is new, pending or already a member (no account
    enumeration); the email says the rest."""

    status: Literal["pending"]


CommunityStatus = Literal["pending", "member", "left"]


class CommunityMember(View):
    """A sign-up as its owner sees it (the confirm page, the member's portal)."""

    id: str
    status: CommunityStatus
    name: str
    skills: list[str]
    divisions: list[str] = Field(description="divisions of interest; empty: every division")
    locale: str
    requested_at: str | None
    confirmed_at: str | None
    left_at: str | None
    in_pool: bool
    retain_until: str | None


class OfferDays(View):
    count: int
    median: float | None
    p90: float | None


class UrgentTimeToOffer(View):
    fast_tracked: OfferDays = Field(description="applications from a re-engagement (source talent_pool)")
    new: OfferDays


class TalentPoolReport(ReportPeriod):
    pool_size: int = Field(description="entries in the pool now, whatever the period")
    pooled: int
    resurfaced: int
    reengaged: int
    reengagement_answered: int
    reengagement_accepted: int
    acceptance_rate: float | None
    urgent_time_to_offer_days: UrgentTimeToOffer


# ---------------------------------------------------------------------------------------------- arguments
class ListPoolArgs(Args):
    skill: Filter = None
    division: Filter = None
    limit: Limit = 50
    cursor: Cursor = None


class RequisitionArgs(Args):
    requisition_id: Id


class ReengageArgs(RequisitionArgs):
    candidate_id: Id


class ReengagementArgs(Args):
    reengagement_id: Id


class RespondArgs(PortalResponseIn):
    # A re-engagement is answered yes or no: start dates, reasons and questions to HR belong to offers.
    response: Literal["accept", "decline"]
    start_date: None = None
    reason: None = None
    message: None = None
    reengagement_id: Id


class PortalLinkArgs(Args):
    """What a portal link names: an application (kind `a`) or a re-engagement (kind `r`)."""

    application_id: Id | None = None
    reengagement_id: Id | None = None


class JoinCommunityArgs(CommunitySignupIn):
    pass


class SignupArgs(Args):
    """The sign-up a member's token names (shared/tokens.py kind `m`)."""

    signup_id: Id


class ExportArgs(Args):
    candidate_id: Id
    application_ids: IdList


# ---------------------------------------------------------------------------------------------- declarations
# The pool is group-wide: an entry's data belongs to the division whose interview pooled it.
ListPool = Rpc(SERVICE, "list_pool", ListPoolArgs, PoolPage, STAFF)
GetMatches = Rpc(SERVICE, "get_matches", RequisitionArgs, list[Match], STAFF,
                 "The ranked matches of a requisition the caller can see (stored as its latest matches)")
PoolReport = Rpc(SERVICE, "pool_report", ReportArgs, TalentPoolReport, STAFF, "GET /v1/reports/talent-pool")
Reengage = Rpc(SERVICE, "reengage", ReengageArgs, Reengagement, STAFF)
GetReengagement = Rpc(SERVICE, "get_reengagement", ReengagementArgs, ReengagementDetail, ANYONE)
RespondReengagement = Rpc(SERVICE, "respond_reengagement", RespondArgs, ReengagementDetail, SYSTEM_ONLY,
                          "Only the candidate, through the portal, answers a re-engagement")
ConsentStatus = Rpc(SERVICE, "consent_status", PortalLinkArgs, PoolConsent, SYSTEM_ONLY,
                    "For the portal: is the candidate in the pool, and did they withdraw consent")
WithdrawConsent = Rpc(SERVICE, "withdraw_consent", PortalLinkArgs, ConsentWithdrawal, SYSTEM_ONLY,
                      "The candidate, on the portal, leaves the pool and every pending re-engagement at once")
ExportCandidate = Rpc(SERVICE, "export_candidate", ExportArgs, TalentPoolExport, (ADMIN,),
                      "Right of access: the pool entry, consent, every re-engagement and every time they were pooled")

# The talent community (issue 18): the gateway's careers pages call these as the system, after checking the
# member's token (confirm, portal, leave) or the form's abuse controls (join).
JoinCommunity = Rpc(SERVICE, "join_community", JoinCommunityArgs, CommunitySignupAccepted, SYSTEM_ONLY,
                    "POST /careers/community: a pending sign-up (or the same one again) and its confirmation email")
ConfirmCommunity = Rpc(SERVICE, "confirm_community", SignupArgs, CommunityMember, SYSTEM_ONLY,
                       "The emailed link, posted: the member enters the pool with reason `community`")
GetCommunityMember = Rpc(SERVICE, "get_community_member", SignupArgs, CommunityMember, SYSTEM_ONLY,
                         "The member's portal and the confirm page")
LeaveCommunity = Rpc(SERVICE, "leave_community", SignupArgs, CommunityMember, SYSTEM_ONLY,
                     "The member leaves: out of the pool at once, the sign-up's personal data deleted")
