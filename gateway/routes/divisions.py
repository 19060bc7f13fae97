"""Divisions as records (sourcing): the name, time zone, locale and careers page (blurb, colour) of each;
registered and changed by group HR (admin), read by staff of the division."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AnswerRoute, CallerOf, IdemKey, Rpc, idempotent_call, ok
from shared.contracts import commands as cmd
from shared.contracts import sourcing
from shared.contracts.sourcing import DivisionList, DivisionRecord

router = APIRouter(route_class=AnswerRoute, tags=["divisions"])


@router.get("/v1/divisions", responses=ok(DivisionList))
async def list_divisions(request: Request, rpc: Rpc, caller: CallerOf[sourcing.ListDivisions]):
    """The registered divisions: the caller's (admin: every one). Requisitions, API keys and policies may name
    only these (422 naming `division` otherwise); `HIRELOOP_DIVISIONS` registers some at start-up."""
    return await rpc(sourcing.ListDivisions, caller, request)


@router.post("/v1/divisions", status_code=201, responses=ok(DivisionRecord, 201))
async def create_division(request: Request, rpc: Rpc, body: cmd.NewDivision,
                          caller: CallerOf[sourcing.CreateDivision], idem: IdemKey = None):
    """An IANA `timezone` (422 naming it otherwise); a division that has a record already is 409
    `division_exists`."""
    return await idempotent_call(request, rpc, caller, idem, body, 201, sourcing.CreateDivision,
                                 **body.model_dump(mode="json"))


@router.get("/v1/divisions/{division_id}", responses=ok(DivisionRecord))
async def get_division(request: Request, rpc: Rpc, division_id: str, caller: CallerOf[sourcing.GetDivision]):
    return await rpc(sourcing.GetDivision, caller, request, division_id=division_id)


@router.patch("/v1/divisions/{division_id}", responses=ok(DivisionRecord))
async def patch_division(request: Request, rpc: Rpc, division_id: str, body: cmd.DivisionPatch,
                         caller: CallerOf[sourcing.PatchDivision], idem: IdemKey = None):
    """A field left out is unchanged; a division not registered is 404 (POST registers it)."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.PatchDivision,
                                 division_id=division_id, **body.model_dump(mode="json", exclude_unset=True))
