"""Value types and enums of the hiring loop (api-v1.md is the source of truth for names)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from shared.errors import Invalid

SERVICES = ("sourcing", "screening", "interview_feedback", "notification", "talent_pool")

# Every list is paged (api-v1: `?limit=`, default 50, max 500; `?cursor=`). The one definition of a page size:
# - `PageLimit`: the gateway's `?limit=` (FastAPI reads the digits of the query string, then these bounds;
#   its 422 words are the API's);
# - `RpcPageLimit`: the `limit` argument of a list RPC's declaration (shared/contracts/queries.py), exactly
#   an integer as JSON carries it, refused in the services' words;
# - `page_limit(value)`: the same check for code handed a value outside pydantic (a store's page()).
MAX_PAGE = 500
DEFAULT_PAGE = 50
PAGE_LIMIT_WORDS = f"must be an integer from 1 to {MAX_PAGE}"
PAGE_LIMIT_MESSAGE = f"limit: {PAGE_LIMIT_WORDS}"


def is_page_limit(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PAGE


def page_limit(value: Any) -> int:
    """`value` as a page size: an integer (not a bool) from 1 to MAX_PAGE, else Invalid naming `limit`."""
    if not is_page_limit(value):
        raise Invalid(PAGE_LIMIT_MESSAGE, field="limit")
    return value


def _rpc_page_limit(value: Any) -> int:
    if not is_page_limit(value):
        raise PydanticCustomError("limit", PAGE_LIMIT_WORDS)
    return value


PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
RpcPageLimit = Annotated[int, BeforeValidator(_rpc_page_limit)]


class Strict(BaseModel):
    """Unknown fields are refused: no mass assignment, and a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Open(BaseModel):
    """For messages read from the bus: tolerate fields added by a newer minor version."""

    model_config = ConfigDict(extra="ignore")


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=2000)]
Skill = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Division = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]
# An id of ours (`req_...`, `app_...`) or another system's, as it travels in paths and between services.
Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# A list of ids passed between services (e.g. a candidate's applications, from sourcing).
IdList = Annotated[list[Id], Field(max_length=1000)]
# A number of years: JSON numbers only. Lax float parsing would take `false` as 0 and "3" as 3.
Years = Annotated[float, Field(strict=True)]


def _iso_string(value: Any) -> Any:
    # Lax datetime parsing would read a JSON number as seconds since 1970: only ISO-8601 strings are times.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO-8601 date-time string, e.g. 2026-12-01T09:00:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_iso_string)]


class Tier(StrEnum):
    basic = "basic"
    core = "core"


class Role(StrEnum):
    admin = "admin"
    hr = "hr"
    recruiter = "recruiter"
    interviewer = "interviewer"


class AppStatus(StrEnum):
    received = "received"
    shortlisted = "shortlisted"
    screened_out = "screened_out"
    interviewing = "interviewing"
    interviewed = "interviewed"
    awaiting_approval = "awaiting_approval"
    offered = "offered"
    rejected = "rejected"
    accepted = "accepted"
    declined = "declined"
    hired = "hired"
    no_show = "no_show"
    withdrawn = "withdrawn"


class Recommendation(StrEnum):
    strong_yes = "strong_yes"
    yes = "yes"
    no = "no"
    strong_no = "strong_no"


class NoticeKind(StrEnum):
    offer = "offer"
    rejection = "rejection"
    progress = "progress"
    guide = "guide"
    hr_confirm_reminder = "hr_confirm_reminder"
    confirm_escalation = "confirm_escalation"
    reengagement = "reengagement"
    survey = "survey"
    approval_overdue = "approval_overdue"  # an approval step past its expected time, to its approvers
    acknowledgement = "acknowledgement"  # a self-applied candidate's application was received (careers)
    community_confirmation = "community_confirmation"  # the double opt-in link of a talent-community sign-up
    # The interviews issue (services/notification/interviews.py): to the candidate and the panel.
    interview_invitation = "interview_invitation"  # METHOD:REQUEST, again with a higher SEQUENCE on a change
    interview_cancelled = "interview_cancelled"  # METHOD:CANCEL (also to a panel member taken off)
    interview_slots = "interview_slots"  # the candidate picks a slot on the portal
    interview_reminder = "interview_reminder"  # to the candidate, `interview_reminders` before the start
    scorecard_reminder = "scorecard_reminder"  # to a panel member whose scorecard is missing after the end
    offer_question = "offer_question"  # a candidate's question about their offer, to division HR (offers)
    offer_expiry_warning = "offer_expiry_warning"  # an unanswered offer close to its expiry, to division HR
    mention = "mention"  # someone was @mentioned (issue 20): to the division's chat (services/notification/chat.py)


def normalize_skill(skill: str) -> str:
    """Skills compare case-insensitively after trimming (api-v1)."""
    return " ".join(skill.split()).casefold()


def normalize_email(email: str) -> str:
    """One person is one candidate: emails compare case-insensitively, trimmed (api-v1)."""
    return email.strip().casefold()
