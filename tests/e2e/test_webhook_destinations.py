"""Finding 4 of issue 15: the HR webhook took internal addresses (blind SSRF: the notice reported the internal
service's HTTP status) and kept its secret in clear. Against the running platform, over HTTP as an HR user
would: internal URLs in every spelling are refused at PUT (422 naming `hr_webhook_url`, nothing changes);
a name that passes the PUT but resolves to loopback is refused when sending, without a connection, and the
notice fails at once with a reason that says nothing about the target; the secret is sealed in the raw
database. The shared platform has no webhook allow-list (the default)."""

from __future__ import annotations

import secrets
import socket
import threading

import pytest

from shared.crypto import is_sealed, open_sealed
from shared.storage import mongo_client
from tests.e2e.test_hiring_loop import app_status, interview_and_pass, make_key
from tests.support.divisions import register_over_api
from tests.support.dump import occurrences, platform_dump
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SECRET = "whsec-" + "a1b2c3d4e5f6g7h8"
HOSTILE = [
    "http://127.0.0.1:8080/hooks",
    "https://127.0.0.1/hooks",
    "https://[::1]/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://0x7f000001/hooks",
    "https://2130706433/hooks",
    "https://0177.0.0.1/hooks",
    "https://127.1/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:a9fe:a9fe]/hooks",
    "https://[64:ff9b::a00:1]/hooks",
    "https://[2002:7f00:1::]/hooks",
    "https://[fe80::1%25eth0]/hooks",
    "https://10.0.0.5/hooks",
    "https://192.168.1.1/hooks",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "http://hr.example.com/hooks",  # plain http outside the allow-list
]


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections (an internal service an attacker would probe)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # what an open internal port says
            conn.close()

    def close(self) -> int:
        """Connections before this call: our own last connection is a sentinel that every earlier one was
        accepted first."""
        before = self.connections
        socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        wait_for(lambda: self.connections, lambda n: n > before, timeout=5, what="the sentinel connection")
        self.sock.close()
        return self.connections - 1


def test_internal_webhook_urls_are_refused_at_put_and_nothing_changes(platform):
    division = f"ssrf{secrets.token_hex(3)}"
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, "hedda", "hr", [division]))
    path = f"/v1/notification-policies/{division}"
    assert hr.put(path, json={"guide_after": 11}).status_code == 200
    before = hr.get(path).json()
    for url in HOSTILE:
        r = hr.put(path, json={"hr_webhook_url": url, "hr_webhook_secret": SECRET})
        assert r.status_code == 422, (url, r.status_code, r.text)
        error = r.json()["error"]
        assert error["field"] == "hr_webhook_url" and error["code"] == "validation_error", (url, error)
        assert hr.get(path).json() == before


def test_the_webhook_secret_is_sealed_at_rest(platform):
    division = f"ssrf{secrets.token_hex(3)}"
    register_over_api(platform.client(), division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(platform.client(), "hanne", "hr", [division]))
    path = f"/v1/notification-policies/{division}"
    # A public https destination is accepted; its secret is write-only over the API and sealed at rest.
    ok = hr.put(path, json={"hr_webhook_url": "https://hr.example.com/hooks", "hr_webhook_secret": SECRET})
    assert ok.status_code == 200 and ok.json()["hr_webhook_secret_set"] is True and SECRET not in ok.text
    assert occurrences(platform_dump(platform.env), [SECRET]) == []
    client = mongo_client(platform.env["MONGO_URL"])
    try:
        stored = client[f"{platform.env['HIRELOOP_NAMESPACE']}_notification"].policies.find_one({"_id": division})
        assert is_sealed(stored["hr_webhook_secret"]) and open_sealed(stored["hr_webhook_secret"]) == SECRET
    finally:
        client.close()


def test_a_name_resolving_to_loopback_is_refused_at_send_time_without_a_connection(platform):
    # `localhost` is a name: the PUT checks the URL as written; the sender resolves it, finds 127.0.0.1
    # and refuses, so the internal port is never connected to and its answer never reported.
    division = f"ssrf{secrets.token_hex(3)}"
    listener = Listener()
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, "hilde", "hr", [division]))
    recruiter = platform.client(make_key(admin, "ravi", "recruiter", [division]))
    ivan = platform.client(make_key(admin, "ivan", "interviewer", [division]))
    r = hr.put(f"/v1/notification-policies/{division}", json={
        "hr_confirm_after": 1, "hr_webhook_url": f"https://localhost:{listener.port}/hooks",
        "hr_webhook_secret": SECRET})
    assert r.status_code == 200, r.text
    req = hr.post("/v1/requisitions", json={"title": "Driver", "division": division, "department": "logistics",
                                            "tier": "basic", "required_skills": ["forklift"]}).json()
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Sam Probe", "email": f"sam.{division}@example.com", "skills": ["forklift"],
        "years_experience": 3}}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview_and_pass(recruiter, hr, ivan, "ivan", app["id"], 4, "yes")

    def reminder():
        notices = hr.get(f"/v1/applications/{app['id']}/notifications").json()
        return next((n for n in notices if n["kind"] == "hr_confirm_reminder"), None)

    # The sentinel: the reminder's first attempt is recorded (sent, failed or re-scheduled with an error).
    notice = wait_for(reminder, lambda n: n is not None and (n["status"] != "scheduled" or n["error"]),
                      timeout=30, what="the HR reminder's first attempt")
    assert notice["channel"] == "webhook"
    assert (notice["status"], notice["sent_at"]) == ("failed", None), notice  # at once, never retried
    assert notice["error"] == "webhook destination refused: the host name resolves to an address that is loopback"
    assert listener.close() == 0
