"""The webhook sender against a real local HTTP receiver, in-process, and its signature rule."""

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notification import domain, webhook
from services.notification.domain import Planned
from services.notification.sender import SendError
from services.notification.tests.webhook_receiver import Receiver
from services.notification.webhook import WebhookSender
from shared.timeutil import utcnow

SECRET = "s3cret-of-sixteen+chars"


def an_hr_notice(url: str, notice_id: str = "ntc_0hr1"):
    rendered = domain.Rendered("Please confirm the offer to Li Wei", "Call Li Wei to confirm.\n确认\n")
    return domain.build_notice(Planned("hr_confirm_reminder", domain.DIVISION_HR, 0), notice_id=notice_id,
                               now=utcnow(), channel=domain.WEBHOOK, recipient=url, rendered=rendered,
                               application_id="app_1", candidate_id="cand_1", reengagement_id=None,
                               division="retail", tier="basic", urgent=False)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"ntc_1","kind":"hr_confirm_reminder"}'
    # Known vector, computed independently of the module.
    expected = hmac.new(b"0123456789abcdef", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert webhook.signature("0123456789abcdef", 1767225600, body) == "sha256=" + expected
    assert webhook.signature("0123456789abcdef", "1767225600", body) == "sha256=" + expected
    assert webhook.signature("0123456789abcdeF", 1767225600, body) != "sha256=" + expected
    assert webhook.signature("0123456789abcdef", 1767225601, body) != "sha256=" + expected


def test_verify_signature_refuses_tampering_and_stale_timestamps():
    body = b'{"a":1}'
    good = webhook.signature(SECRET, 1000, body)
    assert webhook.verify_signature(SECRET, "1000", body, good, now=1000 + 299)
    assert not webhook.verify_signature(SECRET, "1000", body, good, now=1000 + 301)  # older than 5 minutes
    assert not webhook.verify_signature(SECRET, "1000", b'{"a":2}', good, now=1000)
    assert not webhook.verify_signature(SECRET, "1001", body, good, now=1000)
    assert not webhook.verify_signature("another-secret-16ch", "1000", body, good, now=1000)
    assert not webhook.verify_signature(SECRET, "soon", body, good, now=1000)
    assert not webhook.verify_signature(SECRET, "1000", body, "", now=1000)


def test_payload_is_the_notice_and_nothing_more():
    notice = an_hr_notice("http://127.0.0.1:9/x")
    notice["recipient_email_of_someone"] = "li@example.com"  # whatever else the document holds stays home
    assert set(webhook.payload(notice)) == {"id", "kind", "division", "application_id", "candidate_id",
                                            "subject", "body", "step", "created_at"}
    assert webhook.payload(notice)["id"] == "ntc_0hr1" and webhook.payload(notice)["created_at"].endswith("Z")


def test_delivery_is_signed_and_carries_the_notice(receiver):
    url = receiver.expect("/hr", SECRET)
    notice = an_hr_notice(url)
    assert WebhookSender(timeout=5).send(notice, SECRET) == "ntc_0hr1"
    [hit] = receiver.at("/hr")
    assert hit.signature_ok and hit.answered == 200
    assert hit.headers["content-type"] == "application/json"
    assert hit.delivery == "ntc_0hr1"
    assert hit.headers["x-hireloop-signature"] == webhook.signature(
        SECRET, hit.headers["x-hireloop-timestamp"], hit.body)
    assert hit.json == {"id": "ntc_0hr1", "kind": "hr_confirm_reminder", "division": "retail",
                        "application_id": "app_1", "candidate_id": "cand_1",
                        "subject": "Please confirm the offer to Li Wei", "body": "Call Li Wei to confirm.\n确认\n",
                        "step": 0, "created_at": webhook.payload(notice)["created_at"]}


def test_a_wrong_secret_is_refused_by_the_receiver(receiver):
    url = receiver.expect("/hr", SECRET)
    with pytest.raises(SendError, match="HTTP 401"):
        WebhookSender(timeout=5).send(an_hr_notice(url), "not-the-division-secret")
    assert [h.signature_ok for h in receiver.at("/hr")] == [False]


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_raises_send_error_naming_the_status(receiver, status):
    url = receiver.expect("/hr", SECRET, [status])
    with pytest.raises(SendError) as err:
        WebhookSender(timeout=5).send(an_hr_notice(url), SECRET)
    assert str(err.value) == f"webhook answered HTTP {status}"
    assert len(receiver.at("/hr")) == 1  # a redirect is not followed


def test_missing_secret_is_a_send_error_without_a_request(receiver):
    url = receiver.expect("/hr", SECRET)
    with pytest.raises(SendError, match="secret"):
        WebhookSender(timeout=5).send(an_hr_notice(url), None)
    assert receiver.at("/hr") == []


def test_unreachable_receiver_raises_send_error_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    with pytest.raises(SendError, match="unreachable"):
        WebhookSender(timeout=2).send(an_hr_notice(f"http://127.0.0.1:{port}/hr"), SECRET)


def test_a_receiver_that_does_not_answer_times_out():
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            release.wait(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hr"
        with pytest.raises(SendError, match="timed out after 0.5s"):
            WebhookSender(timeout=0.5).send(an_hr_notice(url), SECRET)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_json_body_is_compact_utf8():
    body = webhook.encode(an_hr_notice("http://127.0.0.1:9/x"))
    assert "确认".encode() in body and json.loads(body)["kind"] == "hr_confirm_reminder"
