"""The public jobs API (no key): for companies that keep their own careers site. `GET /v1/public/jobs` lists
the published roles; `POST /v1/public/jobs/{id}/applications` applies with the careers form's fields as
multipart (gateway/careers.py), answered in JSON. The same limits as the form (per address, body size,
honeypot) but no CSRF token: it is called server to server, with no cookie to ride on."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from gateway import careers, careers_text
from gateway.deps import AnswerRoute, Cursor, IdemKey, Limit, Rpc, gw, ok
from gateway.errors import error_body
from gateway.idempotency import idempotent
from gateway.openapi import PublicApplicationReceived
from gateway.routes.careers import CAREERS, address, check_application_limit, public_job, read_form
from shared.contracts import sourcing
from shared.contracts.commands import MAX_DOCUMENT_BYTES
from shared.contracts.sourcing import PublicJobPage
from shared.errors import Invalid

router = APIRouter(route_class=AnswerRoute, tags=["public jobs"])

TextQ = Annotated[str | None, Query(max_length=200)]

# The form's fields as the OpenAPI document describes them (the route reads the body itself, bounded).
_TEXT = {"type": "string", "maxLength": 200}
FLAGS = sorted(careers.YES | careers.NO)
APPLICATION_FORM = {
    "type": "object",
    "required": ["name", "email", "years_experience", "cv", "privacy_ack"],
    "properties": {
        "name": {**_TEXT, "minLength": 1},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "phone": {"type": "string", "maxLength": 40},
        "location": _TEXT,
        "years_experience": {"type": "number", "minimum": 0, "maximum": 80},
        "skills": {"type": "string", "maxLength": careers.MAX_SKILLS_TEXT, "description": "comma-separated"},
        "cv": {"type": "string", "format": "binary", "maxLength": MAX_DOCUMENT_BYTES,
               "description": "PDF, DOCX or plain text by content, at most 10 MB (413 above, 422 otherwise)"},
        "cover_note": {"type": "string", "maxLength": 5000},
        "talent_pool_consent": {"type": "string", "enum": FLAGS},
        "privacy_ack": {"type": "string", "enum": sorted(careers.YES)},
        "source": {"type": "string", "maxLength": 80, "description": "where the candidate came from (a slug)"},
        "lang": {"type": "string", "enum": ["en", "zh-CN"], "description": "the candidate's emails' language"},
    },
    "patternProperties": {r"^answers\.[A-Za-z0-9_\-]{1,40}$": {"type": "string", "enum": FLAGS}},
    "additionalProperties": False,
    "maxProperties": 60,
    "description": "One `answers.<question id>` field (`yes` | `no`) per knock-out question of the job "
                   "(`knockout_questions` of `GET /v1/public/jobs`). A field named `homepage` must stay empty.",
}


@router.get("/v1/public/jobs", responses=ok(PublicJobPage))
async def list_public_jobs(request: Request, rpc: Rpc, division: Annotated[str | None, Query(max_length=80)] = None,
                           q: TextQ = None, location: TextQ = None, limit: Limit = 50, cursor: Cursor = None):
    return await rpc(sourcing.ListPublicJobs, CAREERS, request, division=division, q=q, location=location,
                     limit=limit, cursor=cursor)


@router.post("/v1/public/jobs/{requisition_id}/applications", status_code=202,
             responses=ok(PublicApplicationReceived, 202),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": APPLICATION_FORM}}}})
async def apply_to_job(request: Request, rpc: Rpc, requisition_id: str, idem: IdemKey = None):
    await check_application_limit(request)
    job = await public_job(request, rpc, requisition_id)
    form = await read_form(request)
    named = (careers.form_text(form, "source") or request.query_params.get("source")
             or request.query_params.get("utm_source"))
    if named is not None and len(named) > 80:
        raise Invalid("source: at most 80 characters", field="source")
    source = careers.source_slug(named)
    locale = careers.form_text(form, "lang") or "en"
    if locale not in careers_text.LOCALES:
        raise Invalid("lang: expected en or zh-CN", field="lang")
    try:
        application = await careers.read_application(form, job, source=source, locale=locale)
    except careers.Refused:
        raise Invalid(f"{careers.HONEYPOT}: must be empty", code="refused", field=careers.HONEYPOT) from None
    except careers.TooLarge:
        return JSONResponse(status_code=413, content=error_body(
            "payload_too_large", f"cv: over the limit of {MAX_DOCUMENT_BYTES} bytes", "cv"))
    except careers.FormProblems as problems:
        field, text = problems.first()
        raise Invalid(text, field=field) from None
    data = application.model_dump(mode="json")

    async def produce():
        accepted = await rpc(sourcing.ApplyToJob, CAREERS, request, **data)
        return JSONResponse(status_code=202, content={"application_id": accepted.id,
                                                             "status": accepted.status.value})

    # A retry with the same key and form gets the first answer; the record keeps a digest, not the form.
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    g = gw(request)
    return await idempotent(g.redis, g.settings.redis_key(), f"public:{address(request)}", idem,
                            [request.url.path, digest], produce, concerns=[job.id])
