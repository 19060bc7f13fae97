"""Applications and candidates (sourcing), and the screening override: every personal-data read is audited."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import (
    FINDS_BY_BODY,
    AnswerRoute,
    CallerOf,
    Cursor,
    IdemKey,
    Limit,
    Rpc,
    StatusQ,
    gw,
    idempotent_call,
    ok,
)
from shared.contracts import commands as cmd
from shared.contracts import screening, sourcing
from shared.contracts.sourcing import (
    Application,
    ApplicationAccepted,
    ApplicationPage,
    Candidate,
    CandidateSearchPage,
)

router = APIRouter(route_class=AnswerRoute)  # tags per route: the screening override has its own


# The board's filters and order (issue 20), on the requisition's list and its pipeline summary.
SourceQ = Annotated[str | None, Query(max_length=80, description="only applications from this source")]
PassedQ = Annotated[str | None, Query(max_length=5, description="`true`: passed screening; `false`: did not "
                                                                "(applications not yet screened match neither)")]
TagQ = Annotated[str | None, Query(max_length=40, description="only applications with this tag")]
StatusesQ = Annotated[str | None, Query(max_length=400, description="comma-separated statuses, any of them")]
SortQ = Annotated[str | None, Query(max_length=10, description="`oldest` (default), `newest` or `match` (best "
                                                               "screening match first)")]


def _filters(source: str | None, passed: str | None, tag: str | None) -> dict:
    return {k: v for k, v in {"source": source, "passed": passed, "tag": tag}.items() if v not in (None, "")}


@router.get("/v1/requisitions/{requisition_id}/applications", tags=["applications"], responses=ok(ApplicationPage))
async def requisition_applications(request: Request, rpc: Rpc, requisition_id: str,
                                   caller: CallerOf[sourcing.ListApplications], status: StatusQ = None,
                                   limit: Limit = 50, cursor: Cursor = None, statuses: StatusesQ = None,
                                   source: SourceQ = None, passed: PassedQ = None, tag: TagQ = None,
                                   sort: SortQ = None):
    extra = _filters(source, passed, tag) | ({"sort": sort} if sort else {})
    if statuses:
        extra["statuses"] = [s.strip() for s in statuses.split(",") if s.strip()]
    page = await rpc(sourcing.ListApplications, caller, request, requisition_id=requisition_id, status=status,
                     limit=limit, cursor=cursor, **extra)
    await gw(request).audit.record(request, caller, [
        Read(a.candidate_id, a.division, personal_fields("application", a.model_dump())) for a in page.items])
    return page


@router.get("/v1/requisitions/{requisition_id}/pipeline", tags=["applications"], responses=ok(sourcing.Pipeline))
async def pipeline(request: Request, rpc: Rpc, requisition_id: str, caller: CallerOf[sourcing.PipelineSummary],
                   source: SourceQ = None, passed: PassedQ = None, tag: TagQ = None):
    """How many applications each status holds (with the filters), and every source and tag among the
    requisition's applications: the pipeline board's column counts and filter choices, with no personal data."""
    return await rpc(sourcing.PipelineSummary, caller, request, requisition_id=requisition_id,
                     **_filters(source, passed, tag))


@router.post("/v1/applications/tags", tags=["applications"], responses=ok(sourcing.TaggedApplications),
             openapi_extra=FINDS_BY_BODY)  # every id in the body must be one the caller may see, else 404
async def tag_applications(request: Request, rpc: Rpc, body: cmd.TagsIn,
                           caller: CallerOf[sourcing.TagApplications], idem: IdemKey = None):
    """Tags added to and removed from up to 500 applications at once (recruiter, hr, admin). Every id must name
    an application of the caller's divisions, else 404 and none changes; each change is kept in the
    application's `tag_history` (who, when, what)."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.TagApplications,
                                 **body.model_dump(mode="json"))


@router.post("/v1/applications", status_code=202, tags=["applications"], responses=ok(ApplicationAccepted, 202),
             openapi_extra=FINDS_BY_BODY)
async def submit_application(request: Request, rpc: Rpc, body: cmd.NewApplication,
                             caller: CallerOf[sourcing.SubmitApplication], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 202, sourcing.SubmitApplication,
                                 **body.model_dump(mode="json"))


@router.get("/v1/applications/{application_id}", tags=["applications"], responses=ok(Application))
async def get_application(request: Request, rpc: Rpc, application_id: str,
                          caller: CallerOf[sourcing.GetApplication]):
    found = await rpc(sourcing.GetApplication, caller, request, application_id=application_id)
    await gw(request).audit.record(request, caller, [
        Read(found.candidate_id, found.division, personal_fields("application", found.model_dump()))])
    return found


# -- search (issue 20): the caller's divisions only; every term literal -------------------------------------------
SearchQ = Annotated[str, Query(min_length=1, max_length=100, description=(
    "an email (exact), a phone number (exact, digits compared), else the beginning of a name (any case) or a "
    "skill; literal: `.`, `*` or `(` are those characters"))]
OptionalSearchQ = Annotated[str | None, Query(min_length=1, max_length=100, description=(
    "the candidates to list the applications of: as `GET /v1/candidates?q=`"))]
SearchSortQ = Annotated[Literal["created_at", "-created_at", "updated_at", "-updated_at"], Query(
    description="`created_at` (received) or `updated_at` (last change); `-` for newest first")]


@router.get("/v1/candidates", tags=["applications"], responses=ok(CandidateSearchPage))
async def search_candidates(request: Request, rpc: Rpc, caller: CallerOf[sourcing.SearchCandidates], q: SearchQ,
                            limit: Limit = 50, cursor: Cursor = None):
    """Candidates of the caller's divisions (admin: every division): one hit per division's record of the person,
    naming the division and what matched (`name`, `email`, `phone`, `skill`)."""
    page = await rpc(sourcing.SearchCandidates, caller, request, q=q, limit=limit, cursor=cursor)
    await gw(request).audit.record(request, caller, [
        Read(h.id, h.division, personal_fields("candidate", h.model_dump())) for h in page.items])
    return page


@router.get("/v1/applications", tags=["applications"], responses=ok(ApplicationPage))
async def search_applications(request: Request, rpc: Rpc, caller: CallerOf[sourcing.SearchApplications],
                              q: OptionalSearchQ = None, status: StatusQ = None,
                              requisition_id: Annotated[str | None, Query(max_length=100)] = None,
                              source: Annotated[str | None, Query(max_length=100)] = None,
                              sort: SearchSortQ = "-created_at", limit: Limit = 50, cursor: Cursor = None):
    """Applications of the caller's divisions across requisitions, filtered and sorted, cursor paged."""
    page = await rpc(sourcing.SearchApplications, caller, request, q=q, status=status,
                     requisition_id=requisition_id, source=source, sort=sort, limit=limit, cursor=cursor)
    await gw(request).audit.record(request, caller, [
        Read(a.candidate_id, a.division, personal_fields("application", a.model_dump())) for a in page.items])
    return page


@router.get("/v1/candidates/{candidate_id}", tags=["applications"], responses=ok(Candidate))
async def get_candidate(request: Request, rpc: Rpc, candidate_id: str,
                        caller: CallerOf[sourcing.GetCandidate]):
    found = await rpc(sourcing.GetCandidate, caller, request, candidate_id=candidate_id)
    await gw(request).audit.record(request, caller, [
        Read(found.id, division_of(caller), personal_fields("candidate", found.model_dump()))])
    return found


@router.post("/v1/applications/{application_id}/screening/override", tags=["screening"],
             responses=ok(screening.ScreeningResult))
async def override_screening(request: Request, rpc: Rpc, application_id: str, body: cmd.ScreeningOverride,
                             caller: CallerOf[screening.Override], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, screening.Override,
                                 application_id=application_id, **body.model_dump(mode="json"))
