"""API keys: an admin creates, lists and revokes them (the gateway's own key store, no service)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from gateway.deps import ADMIN, GATEWAY_ONLY, AnswerRoute, Cursor, IdemKey, Limit, Rpc, gw, idempotent_answer, ok, roles
from gateway.divisions import require_registered
from gateway.openapi import ApiKeyCreated, ApiKeyPage
from shared.contracts import commands as cmd
from shared.contracts.caller import Caller
from shared.errors import Invalid
from shared.timeutil import utcnow

router = APIRouter(route_class=AnswerRoute, tags=["keys"])


# Not gateway-only any more: sourcing says which divisions are registered (a 503 when it cannot).
@router.post("/v1/api-keys", status_code=201, responses=ok(ApiKeyCreated, 201))
async def create_key(request: Request, rpc: Rpc, body: cmd.ApiKeyIn,
                     caller: Annotated[Caller, Depends(roles(ADMIN))], idem: IdemKey = None):
    if body.role != ADMIN and not body.divisions:
        raise Invalid("divisions: a non-admin key needs at least one division", field="divisions")
    expires = body.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= utcnow():
        # (a time without an offset is UTC, as MongoDB stores it) A key dead on arrival is a mistake.
        raise Invalid("expires_at: must be in the future", field="expires_at")
    await require_registered(request, rpc, body.divisions, field="divisions")  # 422 naming `divisions.<i>`

    email = str(body.email) if body.email else None
    if body.user_id:  # a user's own key: never more than the user, and it ends with them
        user = await gw(request).users.get(body.user_id)
        if user is None or user["status"] == "deactivated":
            raise Invalid(f"user_id: no active user {body.user_id}", field="user_id")
        if body.role != user["role"]:
            raise Invalid(f"role: the user is {user['role']}; their key must be too", field="role")
        if body.role != ADMIN and not set(body.divisions) <= set(user.get("divisions", [])):
            raise Invalid("divisions: a user's key may name only the user's divisions", field="divisions")
        email = email or user["email"]

    async def produce():
        created = await gw(request).keys.create(body.name, body.role, body.divisions, body.expires_at, email,
                                                  user_id=body.user_id)
        return JSONResponse(status_code=201, content=created)
    # The answer holds the key's secret: never stored; a replay is 409 idempotency_key_reused.
    return await idempotent_answer(request, caller, idem, body, produce, shows_secret=True)


@router.get("/v1/api-keys", responses=ok(ApiKeyPage), openapi_extra=GATEWAY_ONLY)
async def list_keys(request: Request, caller: Annotated[Caller, Depends(roles(ADMIN))], limit: Limit = 50,
                    cursor: Cursor = None):
    items, next_cursor = await gw(request).keys.list(limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.delete("/v1/api-keys/{key_id}", status_code=204, responses={204: {"description": "Done (no body)"}},
                openapi_extra=GATEWAY_ONLY)
async def delete_key(request: Request, key_id: str, caller: Annotated[Caller, Depends(roles(ADMIN))]):
    await gw(request).keys.revoke(key_id)
    return Response(status_code=204)
