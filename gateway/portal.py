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


def _read(token: str) -> tuple[str, str]:
    try:
        return read_portal_token(token)
    except BadSignature:
        raise NotFound("this link is not valid") from None


# ---------------------------------------------------------------------------------------------------------
# What the candidate may see. The portal's page and JSON are built field by field from these allow-lists,
# never by trimming the staff view: a field added to an application, an approval step or a re-engagement
# for staff stays out of the portal until someone adds it here on purpose. Words come from portal_text,
# per status, never from the staff timeline's `detail` (key names, interview ids, scores, override reasons).


def application_view(app: dict, approvals: list[dict], survey: dict, consent: dict, locale: str) -> dict[str, Any]:
    """The candidate's view of their application: their own reference (the id in their link), the role's
    title, where it stands, a timeline in their words, the approval steps' names and times, and what they
    can do (answer an offer, the survey, leave the talent pool)."""
    status = app["status"]
    return {
        "kind": "application",
        "application_id": app["id"],
        "locale": locale,
        "requisition_title": app.get("requisition_title"),
        "status": status,
        "status_text": portal_text.STATUS[locale].get(status, portal_text.status_name(locale, status)),
        "timeline": _timeline(app.get("timeline") or [], locale),
        "approvals": [{"step": s["step"], "name": portal_text.step_name(locale, s.get("role")),
                       "status": s["status"], "status_name": portal_text.status_name(locale, s["status"]),
                       "expected_by": s.get("expected_by"), "decided_at": s.get("decided_at")}
                      for s in approvals],
        "can_respond": status == "offered",
        "survey": {"open": bool(survey.get("sent")) and not survey.get("answered"),
                   "answered": bool(survey.get("answered"))},
        "talent_pool": _consent_view(consent),
    }


def reengagement_view(reg: dict, consent: dict, locale: str) -> dict[str, Any]:
    """The candidate's view of a re-engagement offer: the role, whether it is still open to answer, and,
    once accepted, the reference of the application it created for them."""
    status = reg["status"]
    return {
        "kind": "reengagement",
        "locale": locale,
        "requisition_title": reg.get("requisition_title"),
        "status": status,
        "status_text": portal_text.status_name(locale, status),
        "can_respond": status == "pending",
        "application_id": reg.get("application_id"),
        "talent_pool": _consent_view(consent),
    }


def _timeline(entries: list[dict], locale: str) -> list[dict[str, Any]]:
    """One line per status reached. Entries that keep the status (staff actions such as HR's phone
    confirmation of an offer) say nothing new to the candidate and are left out."""
    lines: list[dict[str, Any]] = []
    for entry in entries:
        if lines and lines[-1]["status"] == entry["status"]:
            continue
        lines.append({"at": entry.get("at"), "status": entry["status"],
                      "text": portal_text.timeline_text(locale, entry["status"])})
    return lines


def _consent_view(consent: dict) -> dict[str, bool]:
    return {"in_pool": bool(consent.get("in_pool")), "withdrawn": bool(consent.get("withdrawn"))}


async def _view(request: Request, token: str, locale: str) -> dict[str, Any]:
    gateway = request.app.state.gateway
    kind, object_id = _read(token)
    if kind == "r":
        reg = await gateway.call(PORTAL, "talent_pool", "get_reengagement", request, reengagement_id=object_id)
        consent = await gateway.call(PORTAL, "talent_pool", "consent_status", request, reengagement_id=object_id)
        return reengagement_view(reg, consent, locale)
    app = await gateway.call(PORTAL, "sourcing", "get_application", request, application_id=object_id)
    approvals = []
    if app.get("tier") == "core":
        approvals = await gateway.call(PORTAL, "interview_feedback", "list_approvals", request,
                                       application_id=object_id)
    survey = await gateway.call(PORTAL, "notification", "get_survey", request, application_id=object_id)
    consent = await gateway.call(PORTAL, "talent_pool", "consent_status", request, application_id=object_id)
    return application_view(app, approvals, survey, consent, locale)


def install(app: FastAPI) -> None:
    _install_consent(app)

    @app.get("/portal/{token}", tags=["portal"])
    async def portal_page(request: Request, token: str):
        locale = portal_text.pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
        view = await _view(request, token, locale)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(view)
        html = TEMPLATES.get_template("portal.html").render(view=view, locale=locale, text=portal_text.TEXT[locale])
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
                                        **data.model_dump())
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
