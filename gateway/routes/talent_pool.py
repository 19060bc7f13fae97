"""The talent pool (talent_pool): pooled candidates, matches for a requisition, and re-engagement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import (
    AnswerRoute,
    CallerOf,
    Cursor,
    DivisionQ,
    IdemKey,
    Limit,
    Rpc,
    gw,
    idempotent_call,
    ok,
)
from shared.contracts import talent_pool as pool
from shared.contracts.talent_pool import Match, PoolPage, Reengagement

router = APIRouter(route_class=AnswerRoute, tags=["talent pool"])


@router.get("/v1/talent-pool", responses=ok(PoolPage))
async def talent_pool(request: Request, rpc: Rpc, caller: CallerOf[pool.ListPool],
                      skill: Annotated[str | None, Query(max_length=80)] = None, division: DivisionQ = None,
                      limit: Limit = 50, cursor: Cursor = None):
    page = await rpc(pool.ListPool, caller, request, skill=skill, division=division, limit=limit, cursor=cursor)
    # The pool is group-wide: an entry's data belongs to the division whose interview pooled it.
    await gw(request).audit.record(request, caller, [
        Read(e.candidate_id, division_of(caller, [e.prior.division]), personal_fields("pool_entry", e.model_dump()))
        for e in page.items])
    return page


@router.get("/v1/requisitions/{requisition_id}/matches", responses=ok(list[Match]))
async def matches(request: Request, rpc: Rpc, requisition_id: str, caller: CallerOf[pool.GetMatches]):
    # Passed on as talent_pool serialised it (through the declared list[Match]): no second validation and
    # encoding here; the audit reads the ids and fields from the same JSON.
    found = await rpc.passthrough(pool.GetMatches, caller, request, requisition_id=requisition_id)
    # Matches do not name a division: a scoped key's one division is the requisition's; an admin's, none.
    await gw(request).audit.record(request, caller, [
        Read(m["candidate_id"], division_of(caller), personal_fields("match", m)) for m in found.value])
    return Response(found.body, media_type="application/json")


@router.post("/v1/requisitions/{requisition_id}/matches/{candidate_id}/reengage", status_code=202,
             responses=ok(Reengagement, 202))
async def reengage(request: Request, rpc: Rpc, requisition_id: str, candidate_id: str,
                   caller: CallerOf[pool.Reengage], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, None, 202, pool.Reengage,
                                 requisition_id=requisition_id, candidate_id=candidate_id)
