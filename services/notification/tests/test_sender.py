"""The SMTP sender against the local capture server, in-process: what is sent is what lands."""

import socket

import pytest

from infra.smtp_capture import SmtpCapture, find, read_body, read_message
from services.notification import domain
from services.notification.domain import Planned
from services.notification.sender import NOTICE_HEADER, SendError, SmtpSender
from shared.timeutil import utcnow


def a_notice(recipient="li@example.com"):
    rendered = domain.Rendered("Your offer for Barista", "Dear Li,\n\nInterview average: 4.3 / 5\n你好\n")
    return domain.build_notice(Planned("offer", domain.CANDIDATE, 0), notice_id="ntc_0123abc", now=utcnow(),
                               recipient=recipient, rendered=rendered, application_id="app_1", candidate_id="c1",
                               reengagement_id=None, division="retail", tier="basic", urgent=False)


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
