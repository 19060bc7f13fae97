"""Offers with terms in the notification shell (real MongoDB, tests/support/shell.py): the offer notice with
its terms and the letter attached (made at sending; pypdf reads the salary and start dates back out of the
message the real SMTP sender builds), new terms sent again, HR's warning before the expiry, a question to HR."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from services.notification.sender import SmtpSender
from services.notification.tests import test_service as base
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.crypto import open_sealed
from shared.timeutil import iso, utcnow

ADMIN, HR, deliver = base.ADMIN, base.HR, base.deliver
store, mailer, shell = base.store, base.mailer, base.shell  # the shell's fixtures (a real MongoDB)


class FileMailer:
    """The SMTP sender's contract with the files: what the real sender would put on the wire."""

    def __init__(self):
        self.sent: list = []
        self.smtp = SmtpSender("smtp://127.0.0.1:1", "hireloop <no-reply@hireloop.local>")

    def send(self, notice, attachments=()):
        self.sent.append(self.smtp.build_message(notice, attachments))
        return f"<{notice['_id']}@test>"


@pytest.fixture
def files():
    return FileMailer()


def offer(version=1, hours=72):
    return {"version": version, "salary": {"amount": 85000.0 + version * 1000, "currency": "EUR", "period": "year"},
            "start_date_options": ["2031-01-06", "2031-02-03"], "expires_at": iso(utcnow() + timedelta(hours=hours)),
            "message": "Welcome aboard!", "company": "Retail GmbH", "timezone": "Europe/Berlin",
            "set_at": iso(utcnow())}


def emit(svc, event_type, payload, handler):
    env = EventEnvelope(type=event_type, producer="sourcing", payload=payload)
    handler(EVENT_MODELS[("sourcing", event_type)].model_validate(env.payload), env)


def received_and_offered(svc, app_id, terms, status="offered", sequence=2):
    deliver(svc, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "careers", "received_at": iso(utcnow()),
        "self_applied": False,
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": "li@example.com", "skills": ["Coffee"]}})
    deliver(svc, "sourcing", "application_status_changed", {
        "sequence": sequence, "application_id": app_id, "candidate_id": "cand_1", "requisition_id": "req_1",
        "requisition_title": "Barista", "division": "retail", "tier": "basic", "urgent": False,
        "source": "careers", "previous_status": "interviewed", "status": status, "at": iso(utcnow()),
        "offer": terms})


def pdf_text(message) -> str:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert part.get_filename() == "offer-letter.pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(part.get_content())).pages)


@pytest.fixture
def svc(shell, files):
    s = shell(HR)
    s.mailer = files
    shell(ADMIN).put_policy(division="retail", hr_email="hr@retail.example", offer_expiry_warning=3600)
    return s


def test_the_offer_email_carries_the_terms_and_the_letter_with_salary_and_start_dates(svc, files, store):
    received_and_offered(svc, "app_1", offer())
    [message] = [m for m in files.sent if m["X-Hireloop-Kind"] == "offer"]
    body = message.get_body(("plain",)).get_content()
    assert "EUR 86,000 per year" in body and "2031-01-06, 2031-02-03" in body and "Welcome aboard!" in body
    text = pdf_text(message)
    assert "86,000" in text and "2031-01-06" in text and "2031-02-03" in text and "Li Wei" in text
    stored = store.db.notices.find_one({"application_id": "app_1", "kind": "offer"})
    assert stored["attachments"] == [{"filename": "offer-letter.pdf", "content_type": "application/pdf"}]
    # HR's warning waits until an hour (the policy) before the expiry
    [warning] = store.db.notices.find({"application_id": "app_1", "kind": "offer_expiry_warning"})
    lead = (warning["scheduled_for"].replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 71 * 3600 - 60 < lead < 71 * 3600 + 60 and open_sealed(warning["recipient"]) == "hr@retail.example"


def test_new_terms_go_again_and_move_the_warning_an_answer_cancels_it(svc, files, store):
    received_and_offered(svc, "app_2", offer())
    emit(svc, "offer_terms_set", {"application_id": "app_2", "division": "retail", "status": "offered",
                                  "offer": offer(version=2, hours=1)}, svc.on_offer_terms_set)
    offers = [m for m in files.sent if m["X-Hireloop-Kind"] == "offer"]
    assert len(offers) == 2 and "updated terms" in offers[1]["Subject"] and "87,000" in pdf_text(offers[1])
    warnings = {n["step"]: n["status"] for n in store.db.notices.find({"application_id": "app_2",
                                                                        "kind": "offer_expiry_warning"})}
    # the new expiry is within the warning's hour: HR is told at once; the old warning is cancelled
    assert warnings[1] == "cancelled" and warnings[2] in ("sent", "sending")
    received_and_offered(svc, "app_3", offer())
    deliver(svc, "sourcing", "application_status_changed", {
        "sequence": 3, "application_id": "app_3", "candidate_id": "cand_1", "requisition_id": "req_1",
        "requisition_title": "Barista", "division": "retail", "tier": "basic", "urgent": False,
        "source": "careers", "previous_status": "offered", "status": "accepted", "at": iso(utcnow()),
        "offer": offer()})
    [warning] = store.db.notices.find({"application_id": "app_3", "kind": "offer_expiry_warning"})
    assert warning["status"] == "cancelled"


def test_a_candidates_question_reaches_hr_only_where_the_policy_has_an_address(svc, shell, files, store):
    received_and_offered(svc, "app_4", offer())
    emit(svc, "offer_question_asked", {"application_id": "app_4", "division": "retail", "question_id": "q1",
                                       "message": "Is the role hybrid?", "asked_at": iso(utcnow())},
         svc.on_offer_question_asked)
    [asked] = [m for m in files.sent if m["X-Hireloop-Kind"] == "offer_question"]
    assert asked["To"] == "hr@retail.example" and "Is the role hybrid?" in asked.get_body(("plain",)).get_content()
    shell(ADMIN).put_policy(division="retail")  # no hr_email, no webhook
    emit(svc, "offer_question_asked", {"application_id": "app_4", "division": "retail", "question_id": "q2",
                                       "message": "Parking?", "asked_at": iso(utcnow())},
         svc.on_offer_question_asked)
    assert store.db.notices.count_documents({"application_id": "app_4", "kind": "offer_question"}) == 1
