"""The candidate portal: `/portal/{token}` (HTML for people, JSON with Accept: application/json) and
`/portal/{token}/response`. The token is the candidate's only credential: HMAC-signed, bound to one
application (kind `a`) or one re-engagement offer (kind `r`). After checking it, the gateway asks the
owning service with a system caller."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import portal_text
from gateway.idempotency import idempotent
from gateway.templating import SECURITY_HEADERS, TEMPLATES
from shared.contracts.caller import Caller
from shared.contracts.commands import ConsentIn, PortalResponseIn, SurveyIn
from shared.errors import NotFound
from shared.signing import BadSignature
from shared.tokens import read_portal_token
from shared.validation import parse

PORTAL = Caller.system("portal")
STATUS_TEXT = portal_text.STATUS["en"]


def _read(token: str) -> tuple[str, str]:
    try:
        return read_portal_token(token)
    except BadSignature:
        raise NotFound("this link is not valid") from None


async def _view(request: Request, token: str) -> dict[str, Any]:
    gateway = request.app.state.gateway
    kind, object_id = _read(token)
    if kind == "r":
        reg = await gateway.call(PORTAL, "talent_pool", "get_reengagement", request, reengagement_id=object_id)
        consent = await gateway.call(PORTAL, "talent_pool", "consent_status", request, reengagement_id=object_id)
        return {"kind": "reengagement", "reengagement": reg, "status": reg["status"],
                "can_respond": reg["status"] == "pending", "requisition_title": reg.get("requisition_title"),
                "talent_pool": consent}
    app = await gateway.call(PORTAL, "sourcing", "get_application", request, application_id=object_id)
    approvals = []
    if app.get("tier") == "core":
        approvals = await gateway.call(PORTAL, "interview_feedback", "list_approvals", request,
                                       application_id=object_id)
    survey = await gateway.call(PORTAL, "notification", "get_survey", request, application_id=object_id)
    consent = await gateway.call(PORTAL, "talent_pool", "consent_status", request, application_id=object_id)
    return {
        "kind": "application",
        "application_id": app["id"],
        "requisition_title": app.get("requisition_title"),
        "status": app["status"],
        "status_text": STATUS_TEXT.get(app["status"], app["status"]),
        "timeline": app.get("timeline", []),
        "approvals": approvals,
        "can_respond": app["status"] == "offered",
        "survey": {"open": survey["sent"] and not survey["answered"], "answered": survey["answered"]},
        "talent_pool": consent,
    }


def install(app: FastAPI) -> None:
    _install_consent(app)

    @app.get("/portal/{token}", tags=["portal"])
    async def portal_page(request: Request, token: str):
        view = await _view(request, token)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(view)
        locale = portal_text.pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
        html = TEMPLATES.get_template("portal.html").render(
            view=view, token=token, locale=locale, text=portal_text.TEXT[locale],
            status_text=portal_text.STATUS[locale].get(view["status"], view["status"]),
            status_name=lambda status: portal_text.status_name(locale, status))
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @app.post("/portal/{token}/response", tags=["portal"])
    async def portal_response(request: Request, token: str, body: PortalResponseIn,
                              idem: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None):
        gateway = request.app.state.gateway
        kind, object_id = _read(token)
        data = parse(PortalResponseIn, body.model_dump())

        async def produce():
            if kind == "r":
                result = await gateway.call(PORTAL, "talent_pool", "respond_reengagement", request,
                                            reengagement_id=object_id, data=data.model_dump())
                return JSONResponse({"kind": "reengagement", "status": result["status"],
                                     "application_id": result.get("application_id")})
            result = await gateway.call(PORTAL, "sourcing", "candidate_response", request, application_id=object_id,
                                        data=data.model_dump())
            return JSONResponse({"kind": "application", "application_id": result["id"], "status": result["status"]})

        return await idempotent(gateway.redis, gateway.settings.redis_key(), _owner(token), idem,
                                [request.url.path, data.model_dump()], produce)

    @app.post("/portal/{token}/survey", tags=["portal"])
    async def portal_survey(request: Request, token: str, body: SurveyIn,
                            idem: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None):
        """The candidate's satisfaction survey (score 1-5, optional comment), once per application."""
        gateway = request.app.state.gateway
        kind, object_id = _read(token)
        if kind != "a":
            raise NotFound("this link has no survey")
        data = parse(SurveyIn, body.model_dump())

        async def produce():
            result = await gateway.call(PORTAL, "notification", "record_survey", request, application_id=object_id,
                                        data=data.model_dump())
            return JSONResponse(result)

        return await idempotent(gateway.redis, gateway.settings.redis_key(), _owner(token), idem,
                                [request.url.path, data.model_dump()], produce)


def _install_consent(app: FastAPI) -> None:
    @app.post("/portal/{token}/consent", tags=["portal"])
    async def portal_consent(request: Request, token: str, body: ConsentIn):
        """Withdraw talent-pool consent: out of the pool and every pending re-engagement, at once. Doing it
        twice changes nothing more, so no idempotency key is needed."""
        gateway = request.app.state.gateway
        kind, object_id = _read(token)
        parse(ConsentIn, body.model_dump())
        ids = {"reengagement_id": object_id} if kind == "r" else {"application_id": object_id}
        result = await gateway.call(PORTAL, "talent_pool", "withdraw_consent", request, **ids)
        return JSONResponse({"talent_pool_consent": False, "removed_from_pool": result["removed_from_pool"],
                             "reengagements_withdrawn": result["reengagements_withdrawn"]})


def _owner(token: str) -> str:
    # The token is the candidate's credential, so it also owns the idempotency records.
    return "portal:" + hashlib.sha256(token.encode()).hexdigest()[:32]
