"""Notices sent to candidates (notification; audited, they name the candidate) and each division's
notification policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.audit import Read, division_of, personal_fields
from gateway.deps import ADMIN, HR, AnswerRoute, CallerOf, Rpc, gw, ok, roles
from gateway.divisions import require_registered
from shared.contracts import commands as cmd
from shared.contracts import notification, sourcing
from shared.contracts.caller import Caller
from shared.contracts.notification import Notice, Policy
from shared.errors import Forbidden, Invalid

router = APIRouter(route_class=AnswerRoute, tags=["notifications"])


@router.get("/v1/applications/{application_id}/notifications", responses=ok(list[Notice]))
async def application_notifications(request: Request, rpc: Rpc, application_id: str,
                                    caller: CallerOf[notification.ListForApplication]):
    found = await rpc(sourcing.GetApplication, caller, request, application_id=application_id)  # 404
    page = await rpc(notification.ListForApplication, caller, request, application_id=application_id)
    notices = [n.model_dump(mode="json") for n in page.items]
    if notices:  # they carry the recipient's address, and the body names the candidate
        await gw(request).audit.record(request, caller, [
            Read(found.candidate_id, found.division, personal_fields("notice", *notices))])
    return notices  # api-v1: a bare list of notices


@router.get("/v1/candidates/{candidate_id}/notifications", responses=ok(list[Notice]))
async def candidate_notifications(request: Request, rpc: Rpc, candidate_id: str,
                                  caller: CallerOf[notification.ListForCandidate]):
    await rpc(sourcing.GetCandidate, caller, request, candidate_id=candidate_id)  # scope: 404
    page = await rpc(notification.ListForCandidate, caller, request, candidate_id=candidate_id)
    notices = [n.model_dump(mode="json") for n in page.items]
    if notices:
        await gw(request).audit.record(request, caller, [Read(candidate_id, division_of(
            caller, (n.get("division") for n in notices)), personal_fields("notice", *notices))])
    return notices


@router.get("/v1/notification-policies/{division}", responses=ok(Policy))
async def get_policy(request: Request, rpc: Rpc, division: str, caller: Annotated[Caller, Depends(roles(HR, ADMIN))]):
    # Narrower than the RPC's roles: services read any division's policy; people read their HR's.
    if not caller.can_see(division):
        raise Forbidden(f"no access to division '{division}'")
    return await rpc(notification.GetPolicy, caller, request, division=division)


@router.put("/v1/notification-policies/{division}", responses=ok(Policy))
async def put_policy(request: Request, rpc: Rpc, division: str, body: cmd.NotificationPolicyPut,
                     caller: CallerOf[notification.PutPolicy]):
    # A GET's body sent back names its division: it must be this one (the path's is the policy's).
    if body.division not in (None, division):
        raise Invalid("division: does not match the division in the path", field="division")
    await require_registered(request, rpc, [division])
    # Unset fields take their defaults in the service (PUT replaces); a secret not sent is kept there.
    return await rpc(notification.PutPolicy, caller, request,
                     **{**body.model_dump(mode="json", exclude_none=True), "division": division})
