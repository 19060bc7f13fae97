"""The webhook sender against a real local HTTP receiver, in-process, and its signature rule."""

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notification import domain, webhook
from services.notification.destinations import AllowList
from services.notification.domain import Planned
from services.notification.sender import SendError
from services.notification.tests.webhook_receiver import Receiver
from services.notification.webhook import WebhookSender
from shared.timeutil import utcnow

SECRET = "s3cret-of-sixteen+chars"
# The receivers here listen on 127.0.0.1, which only an operator's allow-list lets a webhook reach.
LOCAL = AllowList.parse("127.0.0.1")


def local_sender(timeout: float = 5, **kwargs) -> WebhookSender:
    return WebhookSender(timeout=timeout, allow=LOCAL, **kwargs)


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
    assert local_sender(timeout=5).send(notice, SECRET) == "ntc_0hr1"
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
        local_sender(timeout=5).send(an_hr_notice(url), "not-the-division-secret")
    assert [h.signature_ok for h in receiver.at("/hr")] == [False]


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_raises_send_error_naming_the_status(receiver, status):
    url = receiver.expect("/hr", SECRET, [status])
    with pytest.raises(SendError) as err:
        local_sender(timeout=5).send(an_hr_notice(url), SECRET)
    assert str(err.value) == f"webhook answered HTTP {status}"
    assert len(receiver.at("/hr")) == 1  # a redirect is not followed


def test_missing_secret_is_a_send_error_without_a_request(receiver):
    url = receiver.expect("/hr", SECRET)
    with pytest.raises(SendError, match="secret"):
        local_sender(timeout=5).send(an_hr_notice(url), None)
    assert receiver.at("/hr") == []


def test_unreachable_receiver_raises_send_error_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    with pytest.raises(SendError, match="unreachable"):
        local_sender(timeout=2).send(an_hr_notice(f"http://127.0.0.1:{port}/hr"), SECRET)


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
            local_sender(timeout=0.5).send(an_hr_notice(url), SECRET)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_json_body_is_compact_utf8():
    body = webhook.encode(an_hr_notice("http://127.0.0.1:9/x"))
    assert "确认".encode() in body and json.loads(body)["kind"] == "hr_confirm_reminder"


# ---------------------------------------------------------------------------------------------------
# Destinations: refused before any connection unless allowed; the connection goes to the checked address.

class Listener:
    """A bare TCP listener that counts connections: proof that a refused send never connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> int:
        """Stop; returns the number of connections, after a last one of our own (a sentinel: every earlier
        connection was accepted before it)."""
        socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        deadline = time.monotonic() + 5
        while self.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stop = True
        self.sock.close()
        return self.connections - 1


def answers(*ips: str):
    """A resolver (socket.getaddrinfo's shape) with fixed answers: a rebinding DNS server, in effect."""
    def resolve(host, port, type=0):  # noqa: A002 - getaddrinfo's name
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port) if ":" not in ip else (ip, port, 0, 0)) for ip in ips]
    return resolve


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]"])
def test_an_internal_address_is_refused_without_a_connection(host):
    listener = Listener()
    with pytest.raises(webhook.RefusedDestination, match="refused"):
        WebhookSender(timeout=2).send(an_hr_notice(f"https://{host}:{listener.port}/hr"), SECRET)
    assert listener.close() == 0


def test_a_name_that_resolves_to_loopback_is_refused_at_send_time():
    # `localhost` passes the check of the URL as written (a name); its addresses are checked when sending.
    listener = Listener()
    with pytest.raises(webhook.RefusedDestination) as err:
        WebhookSender(timeout=2).send(an_hr_notice(f"https://localhost:{listener.port}/hr"), SECRET)
    assert str(err.value) == "webhook destination refused: the host name resolves to an address that is loopback"
    assert listener.close() == 0


@pytest.mark.parametrize("rebound", [("93.184.215.14", "127.0.0.1"), ("169.254.169.254",),
                                     ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:10.0.0.1")])
def test_every_resolved_address_is_checked(rebound):
    listener = Listener()
    sender = WebhookSender(timeout=2, resolve=answers(*rebound))
    with pytest.raises(webhook.RefusedDestination):
        sender.send(an_hr_notice(f"https://hooks.example.test:{listener.port}/hr"), SECRET)
    assert listener.close() == 0


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(receiver):
    # `hooks.example.test` exists in no DNS: the request reaches the receiver only because the sender
    # connects to the address it resolved and checked (an allow-listed name may be internal).
    receiver.expect("/hr", SECRET)
    port = receiver.server.server_address[1]
    sender = WebhookSender(timeout=5, allow=AllowList.parse("hooks.example.test"), resolve=answers("127.0.0.1"))
    assert sender.send(an_hr_notice(f"http://hooks.example.test:{port}/hr"), SECRET) == "ntc_0hr1"
    [hit] = receiver.at("/hr")
    assert hit.signature_ok and hit.headers["host"] == f"hooks.example.test:{port}"


def test_an_allow_listed_network_allows_resolved_addresses_in_it_but_not_http_to_a_name(receiver):
    receiver.expect("/hr", SECRET)
    port = receiver.server.server_address[1]
    sender = WebhookSender(timeout=5, allow=AllowList.parse("127.0.0.0/8"), resolve=answers("127.0.0.1"))
    with pytest.raises(webhook.RefusedDestination, match="https"):
        sender.send(an_hr_notice(f"http://hooks.example.test:{port}/hr"), SECRET)
    assert sender.send(an_hr_notice(f"http://127.0.0.1:{port}/hr"), SECRET) == "ntc_0hr1"
    assert len(receiver.at("/hr")) == 1


def _tls_server(cert_name: str, tmp_path):
    """An https receiver on 127.0.0.1 with a self-signed certificate for `cert_name`; records SNI and Host."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cert_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cert_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    seen: dict[str, list] = {"sni": [], "host": []}
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_ctx.sni_callback = lambda sock, sni, ctx: seen["sni"].append(sni)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["host"].append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_ctx = ssl.create_default_context(cadata=pem.decode())
    return server, seen, client_ctx


def test_https_to_the_checked_address_verifies_the_certificate_of_the_urls_host(tmp_path):
    server, seen, trust = _tls_server("hooks.example.test", tmp_path)
    port = server.server_address[1]
    try:
        sender = WebhookSender(timeout=5, allow=AllowList.parse("127.0.0.0/8"), resolve=answers("127.0.0.1"),
                               verify=trust)
        assert sender.send(an_hr_notice(f"https://hooks.example.test:{port}/hr"), SECRET) == "ntc_0hr1"
        assert seen == {"sni": ["hooks.example.test"], "host": [f"hooks.example.test:{port}"]}
        # The certificate is checked against the URL's name, not the address connected to.
        other = WebhookSender(timeout=5, allow=AllowList.parse("127.0.0.0/8"), resolve=answers("127.0.0.1"),
                              verify=trust)
        with pytest.raises(SendError, match="unreachable"):
            other.send(an_hr_notice(f"https://elsewhere.example.test:{port}/hr"), SECRET)
        assert seen["host"] == [f"hooks.example.test:{port}"]
    finally:
        server.shutdown()
        server.server_close()
