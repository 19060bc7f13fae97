"""Requisitions (sourcing): opened and closed by HR, read by staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.deps import ADMIN, HR, STAFF, Cursor, DivisionQ, IdemKey, Limit, Rpc, StatusQ, idempotent_call, ok, roles
from gateway.openapi import Requisition, RequisitionPage
from shared.contracts import commands as cmd
from shared.contracts.caller import Caller

router = APIRouter(tags=["requisitions"])


@router.post("/v1/requisitions", status_code=201, responses=ok(Requisition, 201))
async def create_requisition(request: Request, rpc: Rpc, body: cmd.NewRequisition,
                             caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 201, ("sourcing", "create_requisition"),
                                 data=body.model_dump(mode="json"))


@router.get("/v1/requisitions", responses=ok(RequisitionPage))
async def list_requisitions(request: Request, rpc: Rpc, caller: Annotated[Caller, Depends(roles(*STAFF))],
                            division: DivisionQ = None, status: StatusQ = None, urgent: bool | None = None,
                            limit: Limit = 50, cursor: Cursor = None):
    return await rpc(("sourcing", "list_requisitions"), caller, request, division=division, status=status,
                     urgent=urgent, limit=limit, cursor=cursor)


@router.get("/v1/requisitions/{requisition_id}", responses=ok(Requisition))
async def get_requisition(request: Request, rpc: Rpc, requisition_id: str,
                          caller: Annotated[Caller, Depends(roles(*STAFF))]):
    return await rpc(("sourcing", "get_requisition"), caller, request, requisition_id=requisition_id)


@router.post("/v1/requisitions/{requisition_id}/close", responses=ok(Requisition))
async def close_requisition(request: Request, rpc: Rpc, requisition_id: str, body: cmd.CloseRequisition,
                            caller: Annotated[Caller, Depends(roles(HR, ADMIN))], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, ("sourcing", "close_requisition"),
                                 requisition_id=requisition_id, data=body.model_dump(mode="json"))
