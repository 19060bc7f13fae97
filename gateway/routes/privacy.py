"""Candidates' rights (GDPR): erasure, export, and each division's retention policy (sourcing leads)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import ADMIN, AnswerRoute, CallerOf, Rpc, gw, ok, roles
from gateway.divisions import require_registered
from gateway.idempotency import forget
from gateway.openapi import CandidateExport
from gateway.rpc import ServiceCalls
from shared.contracts import commands as cmd
from shared.contracts import interview_feedback, notification, screening, sourcing, talent_pool
from shared.contracts.caller import Caller
from shared.contracts.common import MAX_PAGE
from shared.contracts.sourcing import Erasure, RetentionPolicy
from shared.errors import Forbidden, Invalid, NotFound
from shared.timeutil import iso, utcnow

router = APIRouter(route_class=AnswerRoute, tags=["privacy"])


@router.delete("/v1/candidates/{candidate_id}", status_code=202, responses=ok(Erasure, 202))
async def erase_candidate(request: Request, rpc: Rpc, candidate_id: str, caller: CallerOf[sourcing.EraseCandidate]):
    """Right to erasure: the candidate is erased or anonymised in every service; the answer is the erasure,
    whose per-service progress `GET /v1/erasures/{id}` shows until it is complete. Asking again gives
    the same erasure (and redoes the gateway's part)."""
    g = gw(request)
    erasure = await rpc(sourcing.EraseCandidate, caller, request, candidate_id=candidate_id)
    # The gateway's own part: cached idempotent answers concerning the candidate, found by every id they
    # concern (gateway/idempotency.py). An answer about an interview or an approval step (a scorecard, a
    # step's note) is indexed by that id, which names no application: the erasure asks interview_feedback
    # for the interviews and steps of the candidate's applications (it keeps ids, so this works during and
    # after its own erasure). Should that fail, this request fails before the gateway confirms its part,
    # and asking again (the same erasure) redoes it: nothing is skipped silently.
    app_ids = list(erasure.application_ids)
    ids = [candidate_id, *app_ids, *await interviews_and_steps(rpc, caller, request, app_ids)]
    forgotten = await forget(g.redis, g.settings.redis_key(), ids)
    return await rpc(sourcing.ConfirmErasure, caller, request, erasure_id=erasure.id, party="gateway",
                     counts={"idempotency_records": forgotten})


@router.get("/v1/erasures/{erasure_id}", responses=ok(Erasure))
async def get_erasure(request: Request, rpc: Rpc, erasure_id: str, caller: CallerOf[sourcing.GetErasure]):
    return await rpc(sourcing.GetErasure, caller, request, erasure_id=erasure_id)


@router.get("/v1/candidates/{candidate_id}/export", responses=ok(CandidateExport))
async def export_candidate(request: Request, rpc: Rpc, candidate_id: str,
                           caller: Annotated[Caller, Depends(roles(ADMIN))]):
    """Right of access: everything every service holds about the candidate, as one JSON document."""
    own = await rpc(sourcing.ExportCandidate, caller, request, candidate_id=candidate_id)
    app_ids = [a.id for a in own.applications]
    others = (screening.ExportCandidate, interview_feedback.ExportCandidate, notification.ExportCandidate,
              talent_pool.ExportCandidate)
    parts = await asyncio.gather(*(rpc(declared, caller, request, candidate_id=candidate_id, application_ids=app_ids)
                                   for declared in others))
    divisions = {a.division for a in own.applications}
    await gw(request).audit.record(request, caller, [Read(candidate_id, division_of(caller, divisions), [
        "export", *personal_fields("candidate", own.candidate.model_dump())])])
    return {"candidate_id": candidate_id, "exported_at": iso(utcnow()), "format": "hireloop-export/1",
            "services": {"sourcing": own, **{d.service: part for d, part in zip(others, parts, strict=True)}}}


@router.get("/v1/retention-policies/{division}", responses=ok(RetentionPolicy))
async def get_retention(request: Request, rpc: Rpc, division: str, caller: CallerOf[sourcing.GetRetentionPolicy]):
    if not caller.can_see(division):
        raise Forbidden(f"no access to division '{division}'")
    return await rpc(sourcing.GetRetentionPolicy, caller, request, division=division)


@router.put("/v1/retention-policies/{division}", responses=ok(RetentionPolicy))
async def put_retention(request: Request, rpc: Rpc, division: str, body: cmd.RetentionPolicyIn,
                        caller: CallerOf[sourcing.PutRetentionPolicy]):
    if body.division is not None and body.division != division:  # a GET's answer sent back to another path
        raise Invalid("division: must match the path", field="division")
    await require_registered(request, rpc, [division])
    return await rpc(sourcing.PutRetentionPolicy, caller, request, division=division,
                     **body.model_dump(mode="json", exclude={"division"}))


async def interviews_and_steps(rpc: ServiceCalls, caller: Caller, request: Request,
                               application_ids: list[str]) -> list[str]:
    """The ids of the interviews and approval steps of these applications (interview_feedback's)."""
    async def of(application_id: str) -> list[str]:
        interviews, cursor = [], None
        while True:
            page = await rpc(interview_feedback.ListInterviews, caller, request,
                             application_id=application_id, limit=MAX_PAGE, cursor=cursor)
            interviews += [i.id for i in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
        try:
            steps = await rpc(interview_feedback.ListApprovals, caller, request, application_id=application_id)
        except NotFound:
            steps = []
        return interviews + [s.id for s in steps]
    found = await asyncio.gather(*(of(a) for a in application_ids))
    return [i for ids in found for i in ids]
