"""Files of an application (sourcing keeps them: GridFS, sealed): list, download, attach. Downloads are reads of
personal data, audited like the others; the gateway checks an upload's size while it arrives and its type by
content (shared/documents.py) before anything travels, and sourcing checks both again before it stores."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from gateway.audit import Read, personal_fields
from gateway.deps import AnswerRoute, CallerOf, IdemKey, Rpc, gw, idempotent_answer, ok
from gateway.errors import error_body
from shared import documents
from shared.contracts import sourcing
from shared.contracts.commands import MAX_DOCUMENT_BYTES, NewDocument
from shared.contracts.sourcing import DocumentList, DocumentView
from shared.errors import Invalid
from shared.validation import parse

router = APIRouter(route_class=AnswerRoute, tags=["documents"])

# An upload's whole body: the file and its multipart framing and `kind`. The app's body limit must let this
# route's bodies through up to here (gateway/app.py); this route refuses the file itself over 10 MB.
MAX_UPLOAD_BODY = MAX_DOCUMENT_BYTES + 64 * 1024
UPLOAD_PATH = r"/v1/applications/[^/]+/documents"


def _too_large() -> JSONResponse:
    return JSONResponse(status_code=413, content=error_body(
        "payload_too_large", f"file: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", "file"),
        headers={"Connection": "close"})


async def _bounded_body(request: Request) -> bytes | None:
    """The request's body, read as it arrives; None as soon as it is more than an upload may be."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _form(request: Request, body: bytes):
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("body: send multipart/form-data with a `file` part", field="body")

    async def stream():
        yield body

    try:
        return await MultiPartParser(request.headers, stream(), max_files=1, max_fields=5).parse()
    except MultiPartException as exc:
        raise Invalid(f"body: {exc.message}", field="body") from None


class _Fingerprint(BaseModel):
    """What an Idempotency-Key is checked against: the upload's digest, not its 10 MB."""

    kind: str
    filename: str
    sha256: str


@router.get("/v1/applications/{application_id}/documents", responses=ok(DocumentList))
async def list_documents(request: Request, rpc: Rpc, application_id: str,
                         caller: CallerOf[sourcing.ListDocuments]):
    found = await rpc(sourcing.ListDocuments, caller, request, application_id=application_id)
    items = [d.model_dump() for d in found.items]
    if items:
        await gw(request).audit.record(request, caller, [
            Read(found.items[0].candidate_id, found.items[0].division, personal_fields("document", *items))])
    return found


@router.get("/v1/documents/{document_id}", response_class=Response,
            responses={200: {"description": "the file's bytes, as the type its content is",
                             "content": {t: {} for t in documents.ACCEPTED}}})
async def download_document(request: Request, rpc: Rpc, document_id: str, caller: CallerOf[sourcing.GetDocument]):
    found = await rpc(sourcing.GetDocument, caller, request, document_id=document_id)
    await gw(request).audit.record(request, caller, [Read(found.candidate_id, found.division, ["file"])])
    return Response(content=base64.b64decode(found.data), media_type=found.content_type, headers={
        "Content-Disposition": content_disposition(found.filename),
        "X-Content-Type-Options": "nosniff",  # the browser takes the type given, never guesses one from the bytes
        "Cache-Control": "no-store",
    })


def content_disposition(filename: str) -> str:
    """An attachment: a plain ASCII name for old clients, the UTF-8 name (RFC 6266 / 5987) for the others.
    Sourcing's names are already safe (no separators, quotes or controls)."""
    ascii_name = "".join(ch if 32 < ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename) or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post("/v1/applications/{application_id}/documents", status_code=201, responses=ok(DocumentView, 201),
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary", "maxLength": MAX_DOCUMENT_BYTES,
                              "description": "PDF, DOCX or TXT (by content), at most 10 MB"},
                     "kind": {"type": "string", "enum": ["cv", "other"], "default": "other"}}}}}}})
async def attach_document(request: Request, rpc: Rpc, application_id: str,
                          caller: CallerOf[sourcing.AttachDocument], idem: IdemKey = None):
    body = await _bounded_body(request)
    if body is None:
        return _too_large()
    form = await _form(request, body)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("file: attach the file as the multipart part `file`", field="file")
    data = await upload.read()
    if len(data) > MAX_DOCUMENT_BYTES:
        return _too_large()
    if documents.content_type_of(data) is None:
        raise Invalid("file: only PDF, Word (DOCX) and plain-text files are accepted", field="file",
                      code="unsupported_file_type")
    kind = form.get("kind") or "other"
    filename = (upload.filename or "document").strip()[-255:] or "document"
    command = parse(NewDocument, {"kind": kind, "document": {"filename": filename,
                                                            "data": base64.b64encode(data).decode()}})
    fingerprint = _Fingerprint(kind=command.kind, filename=filename, sha256=hashlib.sha256(data).hexdigest())

    async def produce():
        result = await rpc(sourcing.AttachDocument, caller, request, application_id=application_id,
                           **command.model_dump(mode="json"))
        return JSONResponse(status_code=201, content=to_jsonable_python(result))

    return await idempotent_answer(request, caller, idem, fingerprint, produce)
