"""Notices sent to candidates (notification; audited, they name the candidate) and each division's
notification policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import ADMIN, HR, STAFF, Rpc, gw, ok, roles
from gateway.openapi import Notice, Policy
from shared.contracts import commands as cmd
from shared.contracts import sourcing
from shared.contracts.caller import Caller
from shared.errors import Forbidden

router = APIRouter(tags=["notifications"])


@router.get("/v1/applications/{application_id}/notifications", responses=ok(list[Notice]))
async def application_notifications(request: Request, rpc: Rpc, application_id: str,
                                    caller: Annotated[Caller, Depends(roles(*STAFF))]):
    found = await rpc(sourcing.GetApplication, caller, request, application_id=application_id)  # 404
    page = await rpc(("notification", "list_for_application"), caller, request, application_id=application_id)
    notices = page["items"]
    if notices:  # they carry the recipient's address, and the body names the candidate
        await gw(request).audit.record(request, caller, [
            Read(found.candidate_id, found.division, personal_fields("notice", *notices))])
    return notices  # api-v1: a bare list of notices


@router.get("/v1/candidates/{candidate_id}/notifications", responses=ok(list[Notice]))
async def candidate_notifications(request: Request, rpc: Rpc, candidate_id: str,
                                  caller: Annotated[Caller, Depends(roles(*STAFF))]):
    await rpc(sourcing.GetCandidate, caller, request, candidate_id=candidate_id)  # scope: 404
    page = await rpc(("notification", "list_for_candidate"), caller, request, candidate_id=candidate_id)
    notices = page["items"]
    if notices:
        await gw(request).audit.record(request, caller, [Read(candidate_id, division_of(
            caller, (n.get("division") for n in notices)), personal_fields("notice", *notices))])
    return notices


@router.get("/v1/notification-policies/{division}", responses=ok(Policy))
async def get_policy(request: Request, rpc: Rpc, division: str, caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
    if not caller.can_see(division):
        raise Forbidden(f"no access to division '{division}'")
    return await rpc(("notification", "get_policy"), caller, request, division=division)


@router.put("/v1/notification-policies/{division}", responses=ok(Policy))
async def put_policy(request: Request, rpc: Rpc, division: str, body: cmd.NotificationPolicyPut,
                     caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
    # Unset fields take their defaults in the service (PUT replaces); a secret not sent is kept there.
    return await rpc(("notification", "put_policy"), caller, request, division=division,
                     data=body.model_dump(mode="json", exclude_none=True))
