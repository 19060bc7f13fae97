"""Value types and enums of the hiring loop (api-v1.md is the source of truth for names)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

SERVICES = ("sourcing", "screening", "interview_feedback", "notification", "talent_pool")


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


def normalize_skill(skill: str) -> str:
    """Skills compare case-insensitively after trimming (api-v1)."""
    return " ".join(skill.split()).casefold()


def normalize_email(email: str) -> str:
    """One person is one candidate: emails compare case-insensitively, trimmed (api-v1)."""
    return email.strip().casefold()
