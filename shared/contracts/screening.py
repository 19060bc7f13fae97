"""The screening service's RPCs (shared/contracts/rpc.py): one declaration each."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.contracts.commands import ScreeningOverride
from shared.contracts.common import Id, IdList
from shared.contracts.rpc import ADMIN, ANYONE, HR, RECRUITER, Args, Rpc, View

SERVICE = "screening"


class Screening(View):
    """The machine's reading of an application against its requisition (and a person's override, if any)."""

    passed: bool
    score: int = Field(ge=0, le=100)
    match: int = Field(ge=0, le=100)
    matched_skills: list[str]
    missing_skills: list[str]
    reasons: list[str]
    override: dict[str, Any] | None = None
    skills_from_cv: list[str] = []  # found only in the CV (api-v1 "Careers, documents"); screening used them too


class ScreeningResult(Screening):
    application_id: str
    screened_at: str | None = None


class ScreeningExport(View):
    results: list[ScreeningResult]


class ApplicationArgs(Args):
    application_id: Id


class ExportArgs(Args):
    candidate_id: Id
    application_ids: IdList


class OverrideArgs(ScreeningOverride):
    application_id: Id


GetScreening = Rpc(SERVICE, "get_screening", ApplicationArgs, ScreeningResult, ANYONE)
ExportCandidate = Rpc(SERVICE, "export_candidate", ExportArgs, ScreeningExport, (ADMIN,),
                      "Right of access: the screening results of the candidate's applications (ids from sourcing)")
Override = Rpc(SERVICE, "override", OverrideArgs, ScreeningResult, (RECRUITER, HR, ADMIN))
