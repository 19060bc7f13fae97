"""Staff users (issue 20, docs/decisions/008-users.md): the gateway's own user store, like API keys. An admin
invites anyone; HR invites recruiters and interviewers of its own divisions. The invitation link goes out by
email through notification (SendStaffEmail) and is never stored or answered."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from gateway.deps import (
    ADMIN,
    GATEWAY_ONLY,
    HR,
    AnswerRoute,
    Cursor,
    IdemKey,
    Limit,
    Rpc,
    gw,
    idempotent_answer,
    ok,
    roles,
)
from gateway.openapi import Doc
from gateway.rpc import ServiceCalls
from gateway.users import INVITATION, RESET, caller_may_manage, caller_may_see, view
from shared.contracts import commands as cmd
from shared.contracts import notification, sourcing
from shared.contracts.caller import Caller
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import iso

log = logging.getLogger("hireloop.gateway.users")
router = APIRouter(route_class=AnswerRoute, tags=["users"])
TEMPLATE = {INVITATION: "staff_invitation", RESET: "staff_password_reset"}
LINK_PATH = {INVITATION: "/console/invitations/", RESET: "/console/password-reset/"}


class User(Doc):
    id: str
    email: str
    name: str
    role: str
    divisions: list[str]
    status: str = Field(description="`invited` (no password yet), `active` or `deactivated`")
    locale: str
    timezone: str
    totp_enabled: bool
    created_at: str | None
    activated_at: str | None
    deactivated_at: str | None


class UserCreated(User):
    invitation_sent: bool = Field(description="false when the email could not be sent (the user is created; "
                                              "an admin can invite again)")


class UserPage(Doc):
    items: list[User]
    next_cursor: str | None


async def registered_divisions(rpc: ServiceCalls, request: Request) -> set[str]:
    """The divisions with a record (sourcing): a user may name only those."""
    listed = await rpc(sourcing.ListDivisions, Caller.system("gateway"), request)
    return {d.id for d in listed.items if d.created_at is not None}


async def send_link(rpc: ServiceCalls, request: Request, user: dict, purpose: str) -> bool:
    """A new single-use link for the user, by email in their locale; False when it could not be sent."""
    g = gw(request)
    token, expires = await g.users.issue_token(user["_id"], purpose)
    link = g.settings.public_url.rstrip("/") + LINK_PATH[purpose] + token
    try:
        await rpc(notification.SendStaffEmail, Caller.system("gateway"), request, to=user["email"],
                  template=TEMPLATE[purpose], locale=user.get("locale", "en"), name=user["name"], link=link,
                  expires_at=iso(expires))
    except Exception as exc:  # noqa: BLE001 - any failure: the account stays, the link can be sent again
        log.warning("staff email not sent", extra={"user_id": user["_id"], "purpose": purpose,
                                                   "error": f"{type(exc).__name__}: {exc}"})
        return False
    return True


@router.post("/v1/users", status_code=201, responses=ok(UserCreated, 201), openapi_extra=GATEWAY_ONLY)
async def create_user(request: Request, rpc: Rpc, body: cmd.UserIn,
                      caller: Annotated[Caller, Depends(roles(ADMIN, HR))], idem: IdemKey = None):
    """An invited user and the invitation email (the link works once, for 72 h). Duplicate email: 409
    `user_exists`; a division without a record: 422 naming `divisions`."""
    if body.role != ADMIN and not body.divisions:
        raise Invalid("divisions: a user other than an admin needs at least one division", field="divisions")
    if not caller_may_manage(caller, body.role, body.divisions):
        raise Forbidden("hr may invite recruiters and interviewers of its own divisions only")
    if body.role != ADMIN:
        unknown = sorted(set(body.divisions) - await registered_divisions(rpc, request))
        if unknown:
            raise Invalid(f"divisions: no division {', '.join(unknown)} (register it with POST /v1/divisions)",
                          field="divisions")

    async def produce():
        user = await gw(request).users.create(
            email=str(body.email), name=body.name, role=body.role, divisions=body.divisions, locale=body.locale,
            timezone=body.timezone, created_by=caller.key_id)
        sent = await send_link(rpc, request, user, INVITATION)
        return JSONResponse(status_code=201, content={**view(user), "invitation_sent": sent})
    return await idempotent_answer(request, caller, idem, body, produce)


@router.get("/v1/users", responses=ok(UserPage), openapi_extra=GATEWAY_ONLY)
async def list_users(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN, HR))], limit: Limit = 50,
                     cursor: Cursor = None):
    """Admin: everyone; HR: the users of its divisions."""
    docs, next_cursor = await gw(request).users.list(caller, limit, cursor)
    return {"items": [view(d) for d in docs], "next_cursor": next_cursor}


async def _visible(request: Request, caller: Caller, user_id: str) -> dict:
    doc = await gw(request).users.get(user_id)
    if doc is None or not caller_may_see(caller, doc):
        raise NotFound(f"no user {user_id}")
    return doc


@router.get("/v1/users/{user_id}", responses=ok(User), openapi_extra=GATEWAY_ONLY)
async def get_user(request: Request, user_id: str, caller: Annotated[Caller, Depends(roles(ADMIN, HR))]):
    return view(await _visible(request, caller, user_id))


@router.delete("/v1/users/{user_id}", status_code=204, responses={204: {"description": "Done (no body)"}},
               openapi_extra=GATEWAY_ONLY)
async def deactivate_user(request: Request, user_id: str, caller: Annotated[Caller, Depends(roles(ADMIN, HR))]):
    """Deactivates for good: every console session and API key of the user stops working at once."""
    doc = await _visible(request, caller, user_id)
    if not caller_may_manage(caller, doc["role"], doc.get("divisions", [])):
        raise Forbidden("hr may deactivate recruiters and interviewers of its own divisions only")
    g = gw(request)
    await g.users.deactivate(user_id)
    await g.keys.revoke_user(user_id)
    return Response(status_code=204)


@router.post("/v1/users/{user_id}/invitation", status_code=204, responses={204: {"description": "Sent (no body)"}},
             openapi_extra=GATEWAY_ONLY)
async def invite_again(request: Request, rpc: Rpc, user_id: str,
                       caller: Annotated[Caller, Depends(roles(ADMIN, HR))]):
    """A new invitation link for a user who has not set a password yet (earlier links stop working)."""
    doc = await _visible(request, caller, user_id)
    if not caller_may_manage(caller, doc["role"], doc.get("divisions", [])):
        raise Forbidden("hr may invite recruiters and interviewers of its own divisions only")
    if doc["status"] != "invited":
        raise Conflict(f"user {user_id} is {doc['status']}, not invited", code="not_invited")
    if not await send_link(rpc, request, doc, INVITATION):
        raise Conflict("the invitation email could not be sent; try again", code="email_not_sent")
    return Response(status_code=204)
