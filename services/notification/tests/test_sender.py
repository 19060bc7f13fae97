"""The SMTP sender against the local capture server, in-process: what is sent is what lands."""

import io
import socket
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from infra.smtp_capture import SmtpCapture, find, read_body, read_message
from services.notification import domain
from services.notification.calendar import InterviewInvite, invitation
from services.notification.domain import Planned
from services.notification.sender import (
    NOTICE_HEADER,
    SendError,
    SmtpSender,
    calendar_attachment,
    pdf_attachment,
)
from shared.timeutil import utcnow


def a_notice(recipient="li@example.com", attachments=None, channel=domain.EMAIL):
    rendered = domain.Rendered("Your offer for Barista", "Dear Li,\n\nInterview average: 4.3 / 5\n你好\n")
    return domain.build_notice(Planned("offer", domain.CANDIDATE, 0), notice_id="ntc_0123abc", now=utcnow(),
                               recipient=recipient, rendered=rendered, application_id="app_1", candidate_id="c1",
                               reengagement_id=None, division="retail", tier="basic", urgent=False,
                               attachments=attachments, channel=channel)


def an_invitation(method="REQUEST") -> bytes:
    return invitation(InterviewInvite(
        id="int_1", sequence=1, starts_at=datetime(2027, 3, 15, 13, 0, tzinfo=UTC), duration_minutes=60,
        timezone="America/New_York", format="onsite", title="Interview: Barista", location="12 Pike St",
        organizer_name="Retail HR", organizer_email="hr@retail.example",
        attendees=[("李雷", "li@example.com", "REQ-PARTICIPANT")]), method)


def a_letter() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Salary: 4200 EUR per month")
    page.save()
    return out.getvalue()


@pytest.fixture
def capture(tmp_path):
    with SmtpCapture(tmp_path / "mail") as cap:
        yield cap


def test_sent_notice_lands_in_the_capture_index(capture):
    sender = SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5)
    message_id = sender.send(a_notice())
    assert message_id == "<ntc_0123abc@hireloop.local>"

    [entry] = find(capture.directory, to="li@example.com")
    assert entry["notice_id"] == "ntc_0123abc"
    assert entry["subject"] == "Your offer for Barista"
    assert entry["from"] == "no-reply@hireloop.local"
    assert "Interview average: 4.3 / 5" in read_body(capture.directory, entry)
    assert "你好" in read_body(capture.directory, entry)
    msg = read_message(capture.directory, entry)
    assert msg["From"] == "hireloop <no-reply@hireloop.local>"
    assert msg["Message-ID"] == message_id and msg[NOTICE_HEADER] == "ntc_0123abc"
    assert find(capture.directory, to="someone-else@example.com") == []


def test_a_candidate_notice_with_a_reply_address_carries_reply_to_and_one_without_carries_none(capture):
    sender = SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5)
    sender.send({**a_notice("with@example.com"), "reply_to": "hr@retail.example"})
    sender.send(a_notice("without@example.com"))
    [with_reply] = find(capture.directory, to="with@example.com")
    [without] = find(capture.directory, to="without@example.com")
    assert read_message(capture.directory, with_reply)["Reply-To"] == "hr@retail.example"
    assert read_message(capture.directory, without)["Reply-To"] is None


def test_unreachable_server_raises_send_error_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    sender = SmtpSender(f"smtp://127.0.0.1:{port}", "no-reply@hireloop.local", timeout=2)
    with pytest.raises(SendError):
        sender.send(a_notice())


def test_smtp_url_forms():
    plain = SmtpSender("smtp://mail.example.com:2525", "x@y.z")
    assert (plain.host, plain.port, plain.ssl, plain.starttls, plain.username) == ("mail.example.com", 2525, False,
                                                                                   False, None)
    tls = SmtpSender("smtps://u%40x:p%3Aw@mail.example.com?starttls=0", "x@y.z")
    assert (tls.port, tls.ssl, tls.username, tls.password) == (465, True, "u@x", "p:w")
    assert SmtpSender("smtp://h:25?starttls=true", "x@y.z").starttls is True
    with pytest.raises(ValueError):
        SmtpSender("http://h:25", "x@y.z")


# -- attachments ----------------------------------------------------------------------------------------

def test_an_invitation_and_a_letter_arrive_as_parts_that_parse(capture):
    sender = SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5)
    ics, letter = an_invitation(), a_letter()
    files = [calendar_attachment(ics, "REQUEST"), pdf_attachment(letter, "offer-letter.pdf")]
    sender.send(a_notice(attachments=[f.describe() for f in files]), files)

    [entry] = find(capture.directory, to="li@example.com")
    msg = read_message(capture.directory, entry)
    assert msg.get_content_type() == "multipart/mixed"
    text, calendar_part, pdf_part = msg.iter_parts()
    assert text.get_content_type() == "text/plain" and "你好" in text.get_content()
    assert read_body(capture.directory, entry) == text.get_content()

    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "REQUEST" and calendar_part.get_content_charset() == "utf-8"
    assert calendar_part.get_filename() == "invite.ics"
    assert calendar_part.get_content_disposition() == "attachment"
    assert calendar_part.get_payload(decode=True) == ics  # byte for byte, CRLF line ends included
    cal = Calendar.from_ical(calendar_part.get_payload(decode=True))
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "REQUEST" and str(event["UID"]) == "int_1@hireloop"
    assert event.decoded("dtstart") == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)

    assert pdf_part.get_content_type() == "application/pdf" and pdf_part.get_filename() == "offer-letter.pdf"
    assert "Salary: 4200 EUR per month" in PdfReader(io.BytesIO(pdf_part.get_payload(decode=True))).pages[0] \
        .extract_text()


def test_a_cancellation_part_says_cancel():
    sender = SmtpSender("smtp://127.0.0.1:1025", "no-reply@hireloop.local")
    part = calendar_attachment(an_invitation("CANCEL"), "CANCEL")
    msg = sender.build_message(a_notice(attachments=[part.describe()]), [part])
    [_, calendar_part] = msg.iter_parts()
    assert calendar_part.get_param("method") == "CANCEL"
    assert str(Calendar.from_ical(calendar_part.get_payload(decode=True))["METHOD"]) == "CANCEL"


def test_a_notice_without_files_is_the_single_text_part_it_always_was():
    sender = SmtpSender("smtp://127.0.0.1:1025", "hireloop <no-reply@hireloop.local>")
    notice = a_notice()
    assert "attachments" not in notice  # nor is anything new stored for it
    msg = sender.build_message(notice)
    assert not msg.is_multipart()
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert msg.get_content() == notice["body"]
    assert list(msg.keys()) == ["From", "To", "Subject", "Date", "Message-ID", NOTICE_HEADER, "X-Hireloop-Kind",
                                "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]


def test_a_notice_stores_the_names_and_types_of_its_files_never_their_bytes():
    part = calendar_attachment(an_invitation(), "REQUEST")
    notice = a_notice(attachments=[part.describe()])
    assert notice["attachments"] == [{"filename": "invite.ics",
                                      "content_type": "text/calendar; method=REQUEST; charset=utf-8"}]
    assert b"VCALENDAR" not in repr(notice).encode()
    with pytest.raises(ValueError):  # a description holding the bytes is refused
        a_notice(attachments=[{**part.describe(), "data": part.data}])
    with pytest.raises(ValueError):  # HR webhooks carry no files
        a_notice(attachments=[part.describe()], channel=domain.WEBHOOK)


def test_a_message_carries_exactly_the_files_its_notice_lists(capture):
    sender = SmtpSender(capture.url, "no-reply@hireloop.local", timeout=5)
    invite = calendar_attachment(an_invitation(), "REQUEST")
    letter = pdf_attachment(a_letter(), "offer-letter.pdf")
    listed = a_notice(attachments=[invite.describe()])
    with pytest.raises(ValueError):
        sender.send(listed)  # the file was not made
    with pytest.raises(ValueError):
        sender.send(listed, [letter])  # another file
    with pytest.raises(ValueError):
        sender.send(listed, [calendar_attachment(an_invitation("CANCEL"), "CANCEL")])  # another method
    with pytest.raises(ValueError):
        sender.send(a_notice(), [invite])  # a notice listing none gets none
    assert find(capture.directory) == []
