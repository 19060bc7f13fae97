"""The candidate portal: `/portal/{token}` (HTML for people, JSON with Accept: application/json),
`/portal/{token}/response`, `/survey` and `/consent`. The token is the candidate's only credential:
HMAC-signed, bound to one application (kind `a`) or one re-engagement offer (kind `r`). After checking it,
the gateway asks the owning service with a system caller."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic_core import to_jsonable_python

from gateway import portal_text
from gateway.deps import IdemKey, Rpc, gw, ok
from gateway.idempotency import idempotent
from gateway.openapi import ConsentWithdrawn, PortalAnswer, PortalView
from gateway.portal import OFFER_VISIBLE, application_view, reengagement_view
from gateway.routes import community
from gateway.rpc import ServiceCalls
from gateway.templating import SECURITY_HEADERS, TEMPLATES
from shared.contracts import interview_feedback, notification, sourcing, talent_pool
from shared.contracts.caller import Caller
from shared.contracts.commands import ConsentIn, OfferTerms, OtherTimesIn, PortalResponseIn, SlotPickIn, SurveyIn
from shared.contracts.interview_feedback import CandidateInterview
from shared.contracts.notification import SurveyAnswered
from shared.errors import NotFound
from shared.offer_letter import OfferLetter, offer_letter_pdf
from shared.signing import BadSignature
from shared.tokens import read_portal_token
from shared.validation import parse

PORTAL = Caller.system("portal")
router = APIRouter(tags=["portal"])


def _read(request: Request, token: str) -> tuple[str, str]:
    try:
        return read_portal_token(token, request.app.state.settings.portal_secret)
    except BadSignature:
        raise NotFound("this link is not valid") from None


def _owner(token: str) -> str:
    # The token is the candidate's credential, so it also owns the idempotency records.
    return "portal:" + hashlib.sha256(token.encode()).hexdigest()[:32]



def plain(answer: Any) -> Any:
    return to_jsonable_python(answer)


async def _view(request: Request, rpc: ServiceCalls, token: str, locale: str) -> dict[str, Any]:
    kind, object_id = _read(request, token)
    if kind == "r":
        reg = await rpc(talent_pool.GetReengagement, PORTAL, request, reengagement_id=object_id)
        consent = await rpc(talent_pool.ConsentStatus, PORTAL, request, reengagement_id=object_id)
        return reengagement_view(plain(reg), plain(consent), locale)
    app = plain(await rpc(sourcing.GetApplication, PORTAL, request, application_id=object_id))
    approvals = []
    if app["tier"] == "core":
        approvals = plain(await rpc(interview_feedback.ListApprovals, PORTAL, request, application_id=object_id))
    survey = await rpc(notification.GetSurvey, PORTAL, request, application_id=object_id)
    consent = await rpc(talent_pool.ConsentStatus, PORTAL, request, application_id=object_id)
    interview = None
    if app["status"] in ("shortlisted", "interviewing"):
        interview = plain(await rpc(interview_feedback.CandidateInterviewOf, PORTAL, request,
                                    application_id=object_id))
    # The views below are the portal's allow-list (gateway/portal.py): they read plain data.
    return application_view(app, approvals, plain(survey), plain(consent), locale, interview)


@router.get("/portal/{token}", responses={200: {
    "model": PortalView, "description": "The page, or with `Accept: application/json` its data",
    "content": {"text/html": {"schema": {"type": "string"}}}}})
async def portal_page(request: Request, rpc: Rpc, token: str):
    locale = portal_text.pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
    kind, object_id = _read(request, token)
    if kind == "m":  # a talent-community member's page (gateway/routes/community.py)
        return await community.member_portal(request, rpc, token, object_id)
    view = await _view(request, rpc, token, locale)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(view)
    html = TEMPLATES.get_template("portal.html").render(view=view, locale=locale, text=portal_text.TEXT[locale],
                                                        request_path=request.url.path)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/portal/{token}/offer-letter", response_class=Response, responses={200: {
    "description": "The offer letter as a PDF (`Content-Disposition: attachment`), in the page's language",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def portal_offer_letter(request: Request, rpc: Rpc, token: str):
    """The offer letter (shared/offer_letter.py) of an offer with terms the candidate may see: 404 before
    (no terms yet, a core role's approvals pending)."""
    locale = portal_text.pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
    kind, object_id = _read(request, token)
    if kind != "a":
        raise NotFound("this link has no offer")
    app = plain(await rpc(sourcing.GetApplication, PORTAL, request, application_id=object_id))
    offer = app.get("offer")
    if not offer or app["status"] not in OFFER_VISIBLE:
        raise NotFound("there is no offer letter for this application")
    terms = OfferTerms.model_validate({k: offer[k] for k in ("salary", "start_date_options", "expires_at",
                                                             "message")})
    letter = OfferLetter(company=offer.get("company") or app["division"],
                         candidate_name=app.get("candidate_name") or "-", role_title=app["requisition_title"],
                         terms=terms, timezone=offer.get("timezone") or "UTC",
                         issued_on=(offer.get("set_at") or "")[:10] or None)
    pdf = await run_in_threadpool(offer_letter_pdf, letter, locale)  # reportlab is CPU work: off the loop
    return Response(pdf, media_type="application/pdf", headers={
        **SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="offer-letter.pdf"'})


@router.post("/portal/{token}/response", responses=ok(PortalAnswer))
async def portal_response(request: Request, rpc: Rpc, token: str, body: PortalResponseIn, idem: IdemKey = None):
    g = gw(request)
    kind, object_id = _read(request, token)
    data = parse(PortalResponseIn, body.model_dump())

    async def produce():
        if kind == "r":
            result = await rpc(talent_pool.RespondReengagement, PORTAL, request, reengagement_id=object_id,
                               **data.model_dump())
            return JSONResponse({"kind": "reengagement", "status": result.status,
                                 "application_id": result.application_id})
        result = await rpc(sourcing.CandidateResponse, PORTAL, request, application_id=object_id,
                           **data.model_dump())
        return JSONResponse({"kind": "application", "application_id": result.id, "status": result.status.value})

    return await idempotent(g.redis, g.settings.redis_key(), _owner(token), idem,
                            [request.url.path, data.model_dump()], produce)


@router.post("/portal/{token}/survey", responses=ok(SurveyAnswered))
async def portal_survey(request: Request, rpc: Rpc, token: str, body: SurveyIn, idem: IdemKey = None):
    """The candidate's satisfaction survey (score 1-5, optional comment), once per application."""
    g = gw(request)
    kind, object_id = _read(request, token)
    if kind != "a":
        raise NotFound("this link has no survey")
    data = parse(SurveyIn, body.model_dump())

    async def produce():
        result = await rpc(notification.RecordSurvey, PORTAL, request, application_id=object_id,
                           **data.model_dump())
        return JSONResponse(plain(result))

    return await idempotent(g.redis, g.settings.redis_key(), _owner(token), idem,
                            [request.url.path, data.model_dump()], produce)


@router.post("/portal/{token}/consent", responses=ok(ConsentWithdrawn))
async def portal_consent(request: Request, rpc: Rpc, token: str, body: ConsentIn):
    """Withdraw talent-pool consent: out of the pool and every pending re-engagement, at once. Doing it
    twice changes nothing more, so no idempotency key is needed."""
    kind, object_id = _read(request, token)
    parse(ConsentIn, body.model_dump())
    if kind == "m":  # a community member: withdrawing consent is leaving
        await rpc(talent_pool.LeaveCommunity, PORTAL, request, signup_id=object_id)
        return JSONResponse({"talent_pool_consent": False, "removed_from_pool": True, "reengagements_withdrawn": 0})
    ids = {"reengagement_id": object_id} if kind == "r" else {"application_id": object_id}
    result = await rpc(talent_pool.WithdrawConsent, PORTAL, request, **ids)
    return JSONResponse({"talent_pool_consent": False, "removed_from_pool": result.removed_from_pool,
                         "reengagements_withdrawn": result.reengagements_withdrawn})


async def _interview_call(request: Request, rpc: ServiceCalls, token: str, target, model, body, idem):
    """A candidate's answer about their interview: once per Idempotency-Key, for application links only."""
    g = gw(request)
    kind, object_id = _read(request, token)
    if kind != "a":
        raise NotFound("this link has no interview")
    data = parse(model, body.model_dump(mode="json"))

    async def produce():
        result = await rpc(target, PORTAL, request, application_id=object_id, **data.model_dump(mode="json"))
        return JSONResponse(plain(result))

    return await idempotent(g.redis, g.settings.redis_key(), _owner(token), idem,
                            [request.url.path, data.model_dump(mode="json")], produce)


@router.post("/portal/{token}/slot", responses=ok(CandidateInterview))
async def portal_slot(request: Request, rpc: Rpc, token: str, body: SlotPickIn, idem: IdemKey = None):
    """The candidate picks one of the offered times (409 when it is not one offered, or was taken meanwhile)."""
    return await _interview_call(request, rpc, token, interview_feedback.PickSlot, SlotPickIn, body, idem)


@router.post("/portal/{token}/other-times", responses=ok(CandidateInterview))
async def portal_other_times(request: Request, rpc: Rpc, token: str, body: OtherTimesIn, idem: IdemKey = None):
    """None of the offered times suits the candidate: the request (and its note) is recorded for HR."""
    return await _interview_call(request, rpc, token, interview_feedback.RequestOtherTimes, OtherTimesIn, body,
                                 idem)
