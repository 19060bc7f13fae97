"""Requisitions (sourcing): opened, edited (their posting on the careers site too) and closed by HR, read by staff."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AnswerRoute, CallerOf, Cursor, DivisionQ, IdemKey, Limit, Rpc, StatusQ, idempotent_call, ok
from shared.contracts import commands as cmd
from shared.contracts import sourcing
from shared.contracts.sourcing import Requisition, RequisitionPage

router = APIRouter(route_class=AnswerRoute, tags=["requisitions"])


@router.post("/v1/requisitions", status_code=201, responses=ok(Requisition, 201))
async def create_requisition(request: Request, rpc: Rpc, body: cmd.NewRequisition,
                             caller: CallerOf[sourcing.CreateRequisition], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 201, sourcing.CreateRequisition,
                                 **body.model_dump(mode="json"))


# Reads: staff only here (sourcing itself lets any role read within its divisions).
@router.get("/v1/requisitions", responses=ok(RequisitionPage))
async def list_requisitions(request: Request, rpc: Rpc, caller: CallerOf[sourcing.ListRequisitions],
                            division: DivisionQ = None, status: StatusQ = None, urgent: bool | None = None,
                            limit: Limit = 50, cursor: Cursor = None):
    return await rpc(sourcing.ListRequisitions, caller, request, division=division, status=status, urgent=urgent,
                     limit=limit, cursor=cursor)


@router.get("/v1/requisitions/{requisition_id}", responses=ok(Requisition))
async def get_requisition(request: Request, rpc: Rpc, requisition_id: str,
                          caller: CallerOf[sourcing.GetRequisition]):
    return await rpc(sourcing.GetRequisition, caller, request, requisition_id=requisition_id)


@router.post("/v1/requisitions/{requisition_id}/close", responses=ok(Requisition))
async def close_requisition(request: Request, rpc: Rpc, requisition_id: str, body: cmd.CloseRequisition,
                            caller: CallerOf[sourcing.CloseRequisition], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.CloseRequisition,
                                 requisition_id=requisition_id, **body.model_dump(mode="json"))


@router.patch("/v1/requisitions/{requisition_id}", responses=ok(Requisition))
async def patch_requisition(request: Request, rpc: Rpc, requisition_id: str, body: cmd.RequisitionPatch,
                            caller: CallerOf[sourcing.PatchRequisition], idem: IdemKey = None):
    """Edit any field of POST (not its division) and the posting: a field left out is unchanged, `null` clears an
    optional one (`location`, `salary_range`, `closes_at`). Recorded in the requisition's `history`; a closed
    requisition takes no change (409 `requisition_closed`). `published: true` shows it on the careers site."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.PatchRequisition,
                                 requisition_id=requisition_id, **body.model_dump(mode="json", exclude_unset=True))
