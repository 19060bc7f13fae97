"""Decisions after the interview, the approval chain (interview_feedback), and HR's phone confirmation and
the final outcome of an offer (sourcing)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AnswerRoute, CallerOf, DivisionQ, IdemKey, Rpc, idempotent_call, ok
from shared.contracts import commands as cmd
from shared.contracts import interview_feedback, sourcing
from shared.contracts.interview_feedback import ApprovalQueue, ApprovalStep, Decision
from shared.contracts.sourcing import ApplicationRecord

router = APIRouter(route_class=AnswerRoute, tags=["decisions"])


@router.post("/v1/applications/{application_id}/decision", responses=ok(Decision))
async def decide(request: Request, rpc: Rpc, application_id: str, body: cmd.DecisionIn,
                 caller: CallerOf[interview_feedback.Decide], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, interview_feedback.Decide,
                                 application_id=application_id, **body.model_dump(mode="json"))


@router.post("/v1/applications/{application_id}/offer", responses=ok(sourcing.Offer))
async def make_offer(request: Request, rpc: Rpc, application_id: str, body: cmd.OfferTerms,
                     caller: CallerOf[sourcing.MakeOffer], idem: IdemKey = None):
    """The terms of a passed application's offer (api-v1 "Interviews, offers"): `offered`, or
    `awaiting_approval` for a core role (shown to the candidate once approved); else 409. Setting them again
    replaces them and sends an open offer's candidate the new terms."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.MakeOffer,
                                 application_id=application_id, **body.model_dump(mode="json"))


@router.get("/v1/applications/{application_id}/approvals", responses=ok(list[ApprovalStep]))
async def list_approvals(request: Request, rpc: Rpc, application_id: str,
                         caller: CallerOf[interview_feedback.ListApprovals]):
    return await rpc(interview_feedback.ListApprovals, caller, request, application_id=application_id)


@router.get("/v1/approvals", responses=ok(ApprovalQueue))
async def approval_queue(request: Request, rpc: Rpc, caller: CallerOf[interview_feedback.GetApprovalQueue],
                         division: DivisionQ = None):
    """The approval steps waiting for a decision now, overdue first: division HR's own steps; for group
    HR every waiting step, with `can_decide` on its own."""
    return await rpc(interview_feedback.GetApprovalQueue, caller, request, division=division)


@router.post("/v1/approvals/{approval_id}", responses=ok(ApprovalStep))
async def decide_approval(request: Request, rpc: Rpc, approval_id: str, body: cmd.ApprovalDecisionIn,
                          caller: CallerOf[interview_feedback.DecideApproval], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, interview_feedback.DecideApproval,
                                 approval_id=approval_id, **body.model_dump(mode="json"))


@router.post("/v1/applications/{application_id}/confirmation", responses=ok(ApplicationRecord))
async def confirmation(request: Request, rpc: Rpc, application_id: str, body: cmd.ConfirmationIn,
                       caller: CallerOf[sourcing.RecordConfirmation], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.RecordConfirmation,
                                 application_id=application_id, **body.model_dump(mode="json"))


@router.post("/v1/applications/{application_id}/outcome", responses=ok(ApplicationRecord))
async def outcome(request: Request, rpc: Rpc, application_id: str, body: cmd.OutcomeIn,
                  caller: CallerOf[sourcing.RecordOutcome], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 200, sourcing.RecordOutcome,
                                 application_id=application_id, **body.model_dump(mode="json"))
