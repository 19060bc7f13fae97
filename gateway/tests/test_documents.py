"""The documents routes in process, against a fake of sourcing (gateway/testing.py): listing and downloading are
audited reads; a download carries the file's own type, an attachment's safe name and `nosniff`; an upload is
multipart, checked for size while it arrives (413) and for type by content (422 naming `file`) before anything
reaches sourcing. Real PDF and Word files (reportlab, python-docx); real Redis and MongoDB."""

from __future__ import annotations

import base64
import io
import secrets

import docx
import pytest
from reportlab.pdfgen import canvas

from gateway.routes import documents as routes
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared import documents
from shared.contracts import sourcing
from shared.errors import NotFound


def a_pdf(text: str = "Ann Example, Python") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


def a_docx(text: str = "Ann Example, Python") -> bytes:
    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def view(candidate_id: str = "cand_1", **fields) -> dict:
    """A document as sourcing answers it (shared/contracts/sourcing.py DocumentView)."""
    return {"id": "doc_1", "application_id": "app_1", "kind": "cv", "filename": "Ann CV.pdf",
            "content_type": documents.PDF, "size": 100, "uploaded_at": "2026-01-05T09:00:00Z",
            "uploaded_by": "candidate", "text_status": "extracted", "skills_found": ["Python"], "years_found": 6.0,
            "unreadable_reason": None, "text": "Ann Example, Python", "candidate_id": candidate_id,
            "division": "retail", **fields}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "documents") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    return gateway


def audit_of(gw, candidate_id: str) -> list[dict]:
    log = gw.client.get("/v1/audit", params={"candidate_id": candidate_id}, headers=gw.as_("admin"))
    assert log.status_code == 200
    return log.json()["items"]


def test_listing_an_applications_documents_is_an_audited_read(gw):
    candidate = f"cand_{secrets.token_hex(4)}"
    gw.fake.answer(sourcing.ListDocuments, {"items": [view(candidate)]})
    listed = gw.client.get("/v1/applications/app_1/documents", headers=gw.as_("recruiter"))
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["skills_found"] == ["Python"] and item["text_status"] == "extracted"
    [call] = gw.fake.calls_to(sourcing.ListDocuments)
    assert call.kwargs == {"application_id": "app_1"}
    [record] = audit_of(gw, candidate)
    assert record["action"] == "GET /v1/applications/{application_id}/documents"
    assert record["fields"] == ["filename", "text", "skills_found", "years_found"] and record["division"] == "retail"


def test_an_interviewer_key_may_ask_and_sourcing_decides(gw):
    gw.fake.answer(sourcing.ListDocuments, NotFound("application app_1 not found"))
    answered = gw.client.get("/v1/applications/app_1/documents", headers=gw.as_("interviewer"))
    assert answered.status_code == 404 and answered.json()["error"]["code"] == "not_found"
    assert gw.fake.calls_to(sourcing.ListDocuments)[0].caller.role == "interviewer"


def test_a_download_is_the_file_with_its_type_a_safe_name_and_nosniff(gw):
    candidate = f"cand_{secrets.token_hex(4)}"
    pdf = a_pdf()
    gw.fake.answer(sourcing.GetDocument, {"id": "doc_1", "application_id": "app_1", "filename": "简历_Ann.pdf",
                                          "content_type": documents.PDF, "size": len(pdf),
                                          "data": base64.b64encode(pdf).decode(), "candidate_id": candidate,
                                          "division": "retail"})
    got = gw.client.get("/v1/documents/doc_1", headers=gw.as_("hr"))
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["cache-control"] == "no-store"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"___Ann.pdf\"; filename*=UTF-8''%E7%AE%80%E5%8E%86_Ann.pdf")
    [record] = audit_of(gw, candidate)
    assert record["action"] == "GET /v1/documents/{document_id}" and record["fields"] == ["file"]


def test_content_disposition_never_carries_quotes_or_separators():
    header = routes.content_disposition('a"b;c\\d\r\n.pdf')
    assert header.startswith('attachment; filename="a_b_c_d__.pdf"; filename*=UTF-8\'\'')
    assert "\r" not in header and "\n" not in header


def upload(gw, data: bytes, filename: str = "ref.docx", kind: str | None = "other", role: str = "recruiter",
           headers: dict | None = None):
    form = {"kind": kind} if kind is not None else {}
    return gw.client.post("/v1/applications/app_1/documents", files={"file": (filename, data, "application/pdf")},
                          data=form, headers=headers or gw.as_(role))


def test_a_recruiter_attaches_a_file_sent_on_as_its_bytes_and_name(gw):
    data = a_docx()
    gw.fake.answer(sourcing.AttachDocument, lambda call: view(kind=call.kwargs["kind"], content_type=documents.DOCX,
                                                              filename=call.kwargs["document"]["filename"]))
    created = upload(gw, data, "Ann reference.docx", kind="cv")
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == "Ann reference.docx" and created.json()["kind"] == "cv"
    [call] = gw.fake.calls_to(sourcing.AttachDocument)
    assert call.kwargs["application_id"] == "app_1"
    assert base64.b64decode(call.kwargs["document"]["data"]) == data


def test_an_attachment_with_an_idempotency_key_is_made_once(gw):
    gw.fake.answer(sourcing.AttachDocument, lambda call: view(kind="other"))
    headers = {**gw.as_("recruiter"), "Idempotency-Key": f"k-{secrets.token_hex(4)}"}  # one key, one caller
    first = upload(gw, b"Reference for Ann", "ref.txt", headers=headers)
    again = upload(gw, b"Reference for Ann", "ref.txt", headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert len(gw.fake.calls_to(sourcing.AttachDocument)) == 1
    other = upload(gw, b"Another letter", "ref.txt", headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("data, filename, field", [
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "cv.pdf", "file"),  # an image, whatever its name says
    (b"MZ\x90\x00" + bytes(100), "cv.docx", "file"),
    (b"", "cv.txt", "file"),
])
def test_a_file_that_is_not_what_its_name_says_is_422_naming_file_and_reaches_no_service(gw, data, filename, field):
    refused = upload(gw, data, filename)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == field
    assert gw.fake.calls_to(sourcing.AttachDocument) == []


def test_missing_file_wrong_kind_and_a_json_body_are_422_naming_the_field(gw):
    no_file = gw.client.post("/v1/applications/app_1/documents", data={"kind": "cv"},
                             files={"attachment": ("cv.pdf", a_pdf())}, headers=gw.as_("recruiter"))
    assert no_file.status_code == 422 and no_file.json()["error"]["field"] == "file"
    bad_kind = upload(gw, a_pdf(), "cv.pdf", kind="photo")
    assert bad_kind.status_code == 422 and bad_kind.json()["error"]["field"] == "kind"
    as_json = gw.client.post("/v1/applications/app_1/documents", json={"kind": "cv"}, headers=gw.as_("recruiter"))
    assert as_json.status_code == 422 and as_json.json()["error"]["field"] == "body"
    assert gw.fake.calls_to(sourcing.AttachDocument) == []


def test_an_interviewer_may_not_attach(gw):
    refused = upload(gw, a_pdf(), "cv.pdf", role="interviewer")
    assert refused.status_code == 403 and gw.fake.calls_to(sourcing.AttachDocument) == []


def test_a_file_over_the_limit_is_413_while_it_arrives(gw, monkeypatch):
    # The limit lowered for the test: the app's own body limit (1 MB by default) would answer first otherwise.
    monkeypatch.setattr(routes, "MAX_DOCUMENT_BYTES", 2000)
    monkeypatch.setattr(routes, "MAX_UPLOAD_BODY", 2000 + 1024)
    over_body = upload(gw, b"Python " * 1000, "cv.txt")  # 7,000 bytes: the body is over, read no further
    assert over_body.status_code == 413 and over_body.json()["error"] == {
        "code": "payload_too_large", "message": "file: larger than 0 MB", "field": "file"}
    just_over = upload(gw, b"P" * 2001, "cv.txt")  # the body within its limit, the file itself over
    assert just_over.status_code == 413 and just_over.json()["error"]["field"] == "file"

    def chunked():
        for _ in range(10):
            yield b"x" * 1000

    streamed = gw.client.post("/v1/applications/app_1/documents", content=chunked(),
                              headers={**gw.as_("recruiter"), "Content-Type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    assert gw.fake.calls_to(sourcing.AttachDocument) == []
