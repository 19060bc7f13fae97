"""The talent pool (talent_pool): pooled candidates, matches for a requisition, and re-engagement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import (
    ADMIN,
    HR,
    RECRUITER,
    STAFF,
    Cursor,
    DivisionQ,
    IdemKey,
    Limit,
    Rpc,
    gw,
    idempotent_call,
    ok,
    roles,
)
from gateway.openapi import Match, PoolPage, Reengagement
from shared.contracts.caller import Caller

router = APIRouter(tags=["talent pool"])


@router.get("/v1/talent-pool", responses=ok(PoolPage))
async def talent_pool(request: Request, rpc: Rpc, caller: Annotated[Caller, Depends(roles(*STAFF))],
                      skill: Annotated[str | None, Query(max_length=80)] = None, division: DivisionQ = None,
                      limit: Limit = 50, cursor: Cursor = None):
    page = await rpc(("talent_pool", "list_pool"), caller, request, skill=skill, division=division, limit=limit,
                     cursor=cursor)
    # The pool is group-wide: an entry's data belongs to the division whose interview pooled it.
    await gw(request).audit.record(request, caller, [
        Read(e["candidate_id"], division_of(caller, [(e.get("prior") or {}).get("division")]),
             personal_fields("pool_entry", e)) for e in page["items"]])
    return page


@router.get("/v1/requisitions/{requisition_id}/matches", responses=ok(list[Match]))
async def matches(request: Request, rpc: Rpc, requisition_id: str, caller: Annotated[Caller, Depends(roles(*STAFF))]):
    found = await rpc(("talent_pool", "get_matches"), caller, request, requisition_id=requisition_id)
    # Matches do not name a division: a scoped key's one division is the requisition's; an admin's, none.
    await gw(request).audit.record(request, caller, [
        Read(m["candidate_id"], division_of(caller), personal_fields("match", m)) for m in found])
    return found


@router.post("/v1/requisitions/{requisition_id}/matches/{candidate_id}/reengage", status_code=202,
             responses=ok(Reengagement, 202))
async def reengage(request: Request, rpc: Rpc, requisition_id: str, candidate_id: str,
                   caller: Annotated[Caller, Depends(roles(RECRUITER, HR, ADMIN))], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, None, 202, ("talent_pool", "reengage"),
                                 requisition_id=requisition_id, candidate_id=candidate_id)
