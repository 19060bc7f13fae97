"""Applying with a CV and the files of an application, in the sourcing shell against a real MongoDB and real
GridFS (the in-process bus of tests/support/shell.py): files are checked by content and sealed at rest, read
off the request path into `document_read`, readable by the application's division and its panel only, and
gone with the candidate's erasure. The files are real PDFs and Word documents (reportlab, python-docx)."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import docx
import pytest
from nameko.testing.services import worker_factory
from reportlab.pdfgen import canvas

from services.sourcing import service
from services.sourcing.service import SourcingService
from services.sourcing.store import SourcingStore
from shared import documents
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.errors import Conflict, Invalid, NotFound
from shared.storage import AlreadyHandled
from shared.timeutil import utcnow
from tests.support.divisions import register
from tests.support.shell import InProcessBus, deliver

ADMIN = Caller(key_id="k4", name="ada", role="admin")
RECRUITER = Caller(key_id="k2", name="rita", role="recruiter", divisions=("retail",))
OTHER_RECRUITER = Caller(key_id="k3", name="olga", role="recruiter", divisions=("logistics",))
IVAN = Caller(key_id="k5", name="ivan", role="interviewer", divisions=("retail",))
CAREERS = Caller.system("careers")
MARKER = "Zyxwvut-Marker-4711"  # a string that appears nowhere but in this test's CV
REQ = {"title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
       "required_skills": ["Coffee"], "skills": ["Latte Art"], "min_years": 1, "published": True,
       "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


@pytest.fixture
def svc(make_store, monkeypatch):
    monkeypatch.setattr(service, "purge_dead_letters", lambda *args: 0)  # no broker here
    store = register(make_store(SourcingStore))
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, ADMIN), settings=Settings())


def as_(svc, caller):
    svc.bus.caller = caller
    return svc


def a_pdf(*lines: str, encrypt=None) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=encrypt)
    for i, line in enumerate(lines):
        c.drawString(72, 720 - 16 * i, line)
    c.save()
    return buf.getvalue()


def a_docx(*paragraphs: str) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


CV = a_pdf(f"Ann Example {MARKER}", "Barista with latte art, coffee roasting and HACCP", "6+ years of experience")


def upload(data: bytes, filename: str = "Ann Example CV.pdf") -> dict:
    return {"filename": filename, "data": base64.b64encode(data).decode()}


def public(req_id: str, email: str = "ann@example.com", cv: bytes | None = CV, **kw) -> dict:
    body = {"requisition_id": req_id, "candidate": {"name": "Ann Example", "email": email, "skills": ["Coffee"],
                                                    "years_experience": 2},
            "answers": {"permit": True}, "privacy_ack": True, "locale": "zh-CN", "cover_note": "Hello!", **kw}
    if cv is not None:
        body["cv"] = upload(cv)
    return body


def counts(svc) -> dict:
    db = svc.store.db
    return {name: db[name].count_documents({}) for name in ("applications", "documents", "fs.files", "fs.chunks")}


def read(svc, received: dict):
    """sourcing's own handler of a `document_received` it published, as its inbox hands it over."""
    return deliver(svc.on_document_received, "sourcing", "document_received", received)


def test_a_candidate_applies_with_a_cv_stored_sealed_and_read_off_the_request_path(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    accepted = as_(svc, CAREERS).apply_to_job(**public(req["id"]))
    assert accepted["status"] == "received"
    [received] = svc.bus.payloads("application_received")
    assert received["self_applied"] is True and received["locale"] == "zh-CN"
    [doc_event] = svc.bus.payloads("document_received")
    assert received["cv_document_id"] == doc_event["document_id"]
    assert doc_event["kind"] == "cv" and doc_event["content_type"] == documents.PDF
    assert "filename" not in doc_event and "Ann" not in str(doc_event)  # nothing of the file on the bus

    # At rest: the bytes sealed in GridFS, the name sealed in the metadata, the cover note sealed too.
    db = svc.store.db
    chunks = b"".join(c["data"] for c in db["fs.chunks"].find())
    assert len(chunks) > len(CV) and MARKER.encode() not in chunks and b"%PDF" not in chunks
    meta = db.documents.find_one({"_id": doc_event["document_id"]})
    assert meta["text_status"] == "pending" and "Ann" not in meta["filename"]
    assert "Hello" not in str(db.applications.find_one({"_id": accepted["id"]}))

    read(svc, doc_event)
    [done] = svc.bus.payloads("document_read")
    assert done["text_status"] == "extracted" and done["years_found"] == 6.0
    assert {"Coffee", "Latte Art", "HACCP"} <= set(done["skills_found"])  # HACCP: from the shipped vocabulary
    assert "text" not in done and MARKER not in str(done)
    meta = db.documents.find_one({"_id": doc_event["document_id"]})
    assert MARKER not in str(meta)  # the extracted text is sealed too

    [listed] = as_(svc, RECRUITER).list_documents(application_id=accepted["id"])["items"]
    assert listed["filename"] == "Ann Example CV.pdf" and listed["text_status"] == "extracted"
    assert MARKER in listed["text"] and listed["uploaded_by"] == "candidate" and listed["size"] == len(CV)
    got = svc.get_document(document_id=listed["id"])
    assert base64.b64decode(got["data"]) == CV and got["content_type"] == documents.PDF
    assert got["filename"] == "Ann_Example_CV.pdf"


def test_a_redelivered_reading_is_seen_on_the_document(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    as_(svc, CAREERS).apply_to_job(**public(req["id"]))
    [doc_event] = svc.bus.payloads("document_received")
    env = read(svc, doc_event)
    with pytest.raises(AlreadyHandled):
        deliver(svc.on_document_received, "sourcing", "document_received", doc_event, event_id=env.event_id)
    assert len(svc.bus.payloads("document_read")) == 1


def test_an_encrypted_cv_is_kept_and_flagged_unreadable(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    accepted = as_(svc, CAREERS).apply_to_job(**public(req["id"], cv=a_pdf("Python", encrypt="secret")))
    [doc_event] = svc.bus.payloads("document_received")
    read(svc, doc_event)
    [done] = svc.bus.payloads("document_read")
    assert done == {**done, "text_status": "unreadable", "unreadable_reason": "encrypted", "skills_found": []}
    [listed] = as_(svc, RECRUITER).list_documents(application_id=accepted["id"])["items"]
    assert listed["text_status"] == "unreadable" and listed["text"] is None


@pytest.mark.parametrize("change, answers", [
    ({"published": False}, {"permit": True}),
    ({"status": "closed"}, {"permit": True}),
    ({"closes_at": utcnow() - timedelta(minutes=1)}, {"permit": True}),
])
def test_only_a_posted_job_takes_applications(svc, change, answers):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    svc.store.db.requisitions.update_one({"_id": req["id"]}, {"$set": change})
    with pytest.raises(NotFound):
        as_(svc, CAREERS).apply_to_job(**public(req["id"], answers=answers))
    with pytest.raises(NotFound):
        svc.apply_to_job(**public("req_unknown"))
    assert counts(svc) == {"applications": 0, "documents": 0, "fs.files": 0, "fs.chunks": 0}


def test_a_job_closing_later_takes_applications(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    svc.store.db.requisitions.update_one({"_id": req["id"]}, {"$set": {"closes_at": utcnow() + timedelta(days=1)}})
    assert as_(svc, CAREERS).apply_to_job(**public(req["id"]))["status"] == "received"


@pytest.mark.parametrize("body, field", [
    ({"answers": {}}, "answers.permit"),
    ({"answers": {"permit": True, "other": False}}, "answers.other"),
    ({"cv": upload(b"\x89PNG\r\n\x1a\n" + bytes(64), "cv.pdf")}, "cv"),  # an image named .pdf
    ({"cv": upload(b"MZ\x90\x00" + bytes(200), "cv.docx")}, "cv"),
    ({"cv": {"filename": "cv.txt", "data": "not base64!"}}, "cv"),
])
def test_bad_input_names_the_field_and_stores_nothing(svc, body, field):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    with pytest.raises(Invalid) as refused:
        as_(svc, CAREERS).apply_to_job(**{**public(req["id"]), **body})
    assert refused.value.field == field
    assert counts(svc) == {"applications": 0, "documents": 0, "fs.files": 0, "fs.chunks": 0}


def test_a_file_over_the_limit_is_refused_by_sourcing_too(svc, monkeypatch):
    monkeypatch.setattr(service, "MAX_DOCUMENT_BYTES", 1000)
    req = as_(svc, ADMIN).create_requisition(**REQ)
    with pytest.raises(Invalid) as refused:
        as_(svc, CAREERS).apply_to_job(**public(req["id"], cv=b"Python " * 200))
    assert refused.value.field == "cv" and counts(svc)["fs.files"] == 0


def test_a_second_application_to_the_same_job_is_a_conflict_and_leaves_no_second_file(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    first = as_(svc, CAREERS).apply_to_job(**public(req["id"]))
    before = counts(svc)
    with pytest.raises(Conflict, match=first["id"]):
        svc.apply_to_job(**public(req["id"], email=" ANN@example.com "))
    assert counts(svc) == before


def test_recruiters_attach_files_of_their_divisions_and_a_cv_they_attach_is_read(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    app = as_(svc, CAREERS).apply_to_job(**public(req["id"], cv=None))
    assert svc.bus.payloads("application_received")[0]["cv_document_id"] is None
    with pytest.raises(NotFound):
        as_(svc, OTHER_RECRUITER).attach_document(application_id=app["id"], kind="cv",
                                                  document=upload(a_docx("Python")))
    with pytest.raises(Invalid) as refused:
        as_(svc, RECRUITER).attach_document(application_id=app["id"], kind="cv",
                                            document=upload(b"\x7fELF" + bytes(100), "cv.docx"))
    assert refused.value.field == "file" and counts(svc)["fs.files"] == 0
    view = as_(svc, RECRUITER).attach_document(application_id=app["id"], kind="cv",
                                               document=upload(a_docx("Kubernetes, 十年经验"), "简历.docx"))
    assert view["uploaded_by"] == "rita" and view["content_type"] == documents.DOCX and view["filename"] == "简历.docx"
    [doc_event] = svc.bus.payloads("document_received")
    read(svc, doc_event)
    [done] = svc.bus.payloads("document_read")
    assert done["skills_found"] == ["Kubernetes"] and done["years_found"] == 10.0
    assert svc.get_document(document_id=view["id"])["filename"] == "简历.docx"


def test_an_interviewer_reads_documents_only_of_applications_whose_panel_it_sits_on(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    app = as_(svc, CAREERS).apply_to_job(**public(req["id"]))
    [doc_event] = svc.bus.payloads("document_received")
    read(svc, doc_event)
    with pytest.raises(NotFound):
        as_(svc, IVAN).list_documents(application_id=app["id"])
    with pytest.raises(NotFound):
        svc.get_document(document_id=doc_event["document_id"])
    svc.store.db.applications.update_one({"_id": app["id"]}, {"$set": {"status": "shortlisted"}})
    deliver(svc.on_interview_scheduled, "interview_feedback", "interview_scheduled", {
        "interview_id": "int_1", "application_id": app["id"], "division": "retail", "interviewers": ["ivan", "ines"],
        "competencies": ["coffee"], "scheduled_at": "2026-01-02T10:00:00Z"})
    [listed] = as_(svc, IVAN).list_documents(application_id=app["id"])["items"]
    assert listed["text"] is None and listed["skills_found"]  # the file, not the extracted text
    assert base64.b64decode(svc.get_document(document_id=listed["id"])["data"]) == CV
    with pytest.raises(NotFound):  # another interviewer
        as_(svc, IVAN.model_copy(update={"name": "igor"})).get_document(document_id=listed["id"])


def test_export_carries_the_documents_and_erasure_removes_files_chunks_and_metadata(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    app = as_(svc, CAREERS).apply_to_job(**public(req["id"]))
    [doc_event] = svc.bus.payloads("document_received")
    read(svc, doc_event)
    as_(svc, RECRUITER).attach_document(application_id=app["id"], kind="other",
                                        document=upload(b"Reference letter for Ann", "ref.txt"))
    exported = as_(svc, ADMIN).export_candidate(candidate_id=app["candidate_id"])
    assert [d["kind"] for d in exported["documents"]] == ["cv", "other"]
    assert MARKER in exported["documents"][0]["text"] and "data" not in exported["documents"][0]
    assert exported["applications"][0]["cover_note"] == "Hello!"
    assert counts(svc)["fs.files"] == 2

    erasure = svc.erase_candidate(candidate_id=app["candidate_id"])
    assert erasure["services"]["sourcing"]["counts"]["files"] == 2
    assert erasure["services"]["sourcing"]["counts"]["documents"] == 2
    assert counts(svc) == {"applications": 1, "documents": 0, "fs.files": 0, "fs.chunks": 0}
    after = svc.store.db.applications.find_one({"_id": app["id"]})
    assert after["cover_note"] is None and after["erased"] is True
    # The reading of a file erased meanwhile: acknowledged, nothing read, nothing published.
    svc.bus.emitted.clear()
    read(svc, doc_event)
    assert svc.bus.emitted == []
    with pytest.raises(NotFound):
        svc.get_document(document_id=doc_event["document_id"])
