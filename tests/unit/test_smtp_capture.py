"""infra.smtp_capture: real SMTP in, .eml files and an index out."""

import json
import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from infra.smtp_capture import INDEX, SmtpCapture, find, read_body, read_index

ROOT = Path(__file__).resolve().parents[2]


def send(port, to, subject, body="hello", notice_id=None):
    msg = EmailMessage()
    msg["From"] = "hireloop <no-reply@hireloop.local>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    if notice_id:
        msg["X-Hireloop-Notice"] = notice_id
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(msg)


def test_messages_are_written_and_indexed(tmp_path):
    mail = tmp_path / "mail"
    assert read_index(mail) == []
    with SmtpCapture(mail) as cap:
        assert cap.port and cap.url == f"smtp://127.0.0.1:{cap.port}"
        send(cap.port, ["li@example.com"], "Your offer", "Interview average: 4.3 / 5\n中文", notice_id="ntc_1")
        send(cap.port, ["hr-retail@hireloop.local", "group-hr@hireloop.local"], "Reminder")

    entries = read_index(mail)
    assert [e["subject"] for e in entries] == ["Your offer", "Reminder"]
    first, second = entries
    assert set(first) == {"at", "from", "to", "subject", "file", "notice_id"}
    assert first["from"] == "no-reply@hireloop.local" and first["to"] == ["li@example.com"]
    assert first["notice_id"] == "ntc_1" and second["notice_id"] is None
    assert second["to"] == ["hr-retail@hireloop.local", "group-hr@hireloop.local"]
    assert first["file"].endswith("-1.eml") and second["file"].endswith("-2.eml")
    assert (mail / first["file"]).is_file()
    assert "Interview average: 4.3 / 5" in read_body(mail, first) and "中文" in read_body(mail, first)
    # one JSON object per line
    lines = (mail / INDEX).read_text().splitlines()
    assert [json.loads(line)["file"] for line in lines] == [first["file"], second["file"]]


def test_find_filters_by_recipient_and_subject(tmp_path):
    with SmtpCapture(tmp_path) as cap:
        send(cap.port, ["a@example.com"], "Your offer for Barista")
        send(cap.port, ["b@example.com"], "Your application for Barista")
        send(cap.port, ["A@example.com"], "Onboarding guide")
    assert [e["subject"] for e in find(tmp_path, to="a@example.com")] == ["Your offer for Barista", "Onboarding guide"]
    assert [e["to"] for e in find(tmp_path, subject_contains="barista")] == [["a@example.com"], ["b@example.com"]]
    assert len(find(tmp_path, to="a@example.com", subject_contains="offer")) == 1
    assert len(find(tmp_path)) == 3
    assert find(tmp_path, to="nobody@example.com") == []


def test_stopped_server_refuses_and_restart_keeps_the_index(tmp_path):
    cap = SmtpCapture(tmp_path).start()
    port = cap.port
    send(port, ["a@example.com"], "one")
    cap.stop()
    with pytest.raises(OSError):
        send(port, ["a@example.com"], "lost")
    with SmtpCapture(tmp_path) as again:
        send(again.port, ["a@example.com"], "two")
    assert [e["subject"] for e in read_index(tmp_path)] == ["one", "two"]


def test_command_line_prints_where_mail_goes_and_captures(tmp_path):
    from infra.embedded_mongo import free_port

    port = free_port()
    mail = tmp_path / "var" / "mail"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.smtp_capture", "--host", "127.0.0.1", "--port", str(port), "--dir", str(mail)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = proc.stdout.readline()
        assert str(mail.resolve()) in line and str(port) in line
        send(port, ["li@example.com"], "via the command line")
        deadline = time.monotonic() + 5
        while not read_index(mail) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e["subject"] for e in read_index(mail)] == ["via the command line"]
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
