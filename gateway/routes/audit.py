"""The audit log of personal-data reads, for an admin (the gateway's own, gateway/audit.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.deps import ADMIN, AnswerRoute, CandidateQ, Cursor, Limit, gw, ok, roles
from gateway.openapi import AuditPage
from shared.contracts.caller import Caller

router = APIRouter(route_class=AnswerRoute, tags=["audit"])


@router.get("/v1/audit", responses=ok(AuditPage))
async def audit_log(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN))], candidate_id: CandidateQ,
                    limit: Limit = 50, cursor: Cursor = None):
    """Who read a candidate's personal data: one record per read, newest first (ids and field names only)."""
    return await gw(request).audit.list(candidate_id, limit, cursor)
