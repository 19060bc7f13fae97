"""A local SMTP server that keeps every message it receives, for development and tests.

    python -m infra.smtp_capture --host 127.0.0.1 --port 1025 --dir var/mail

Each message is written as `<dir>/<timestamp>-<n>.eml` and one JSON line is appended to
`<dir>/index.jsonl`: `{"at", "from", "to": [...], "subject", "file", "notice_id"}` (`file` is the name
of the .eml inside `<dir>`; `notice_id` is the `X-Hireloop-Notice` header, or null).

In-process (tests): `SmtpCapture(dir).start()` then `.port`, `.stop()` (also a context manager);
`read_index(dir)` returns the index lines, `find(dir, to=..., subject_contains=...)` filters them and
`read_body(dir, entry)` returns a message's text.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

INDEX = "index.jsonl"
NOTICE_HEADER = "X-Hireloop-Notice"


class _CaptureHandler:
    """aiosmtpd handler: store the message, index it, accept it."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        try:
            self.save(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        except Exception as exc:  # noqa: BLE001 - tell the client, keep serving
            return f"451 Requested action aborted: could not store message ({exc})"
        return "250 Message accepted for delivery"

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes | str) -> dict:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        data = data.replace(b"\r\n", b"\n")  # SMTP's CRLF as local line ends: readable with any tool
        msg = message_from_bytes(data, policy=policy.default)
        now = datetime.now(UTC)
        with self._lock:
            self._count += 1
            name = f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{self._count}.eml"
            (self.directory / name).write_bytes(data)
            entry = {
                "at": now.isoformat().replace("+00:00", "Z"),
                "from": mail_from,
                "to": rcpt_tos,
                "subject": str(msg.get("Subject", "")),
                "file": name,
                "notice_id": str(msg[NOTICE_HEADER]) if msg.get(NOTICE_HEADER) else None,
            }
            with open(self.directory / INDEX, "a", encoding="utf-8") as index:
                index.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return entry


class _BoundController(Controller):
    """A Controller serving on a socket we bound ourselves, so port 0 (any free port) works."""

    def __init__(self, handler, sock: socket.socket, **kwargs):
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpCapture:
    def __init__(self, directory: str | Path, host: str = "127.0.0.1", port: int = 0):
        self.directory = Path(directory)
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._controller: _BoundController | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> SmtpCapture:
        self.directory.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        self.port = sock.getsockname()[1]
        self._controller = _BoundController(_CaptureHandler(self.directory), sock)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpCapture:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def read_index(directory: str | Path) -> list[dict]:
    """Every index line, oldest first (an empty list before the first message)."""
    path = Path(directory) / INDEX
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:  # a line being written right now
                continue
    return entries


def find(directory: str | Path, to: str | None = None, subject_contains: str | None = None) -> list[dict]:
    """Index entries sent to `to` (case-insensitive) and/or whose subject contains the given text."""
    out = []
    for entry in read_index(directory):
        if to is not None and to.casefold() not in [t.casefold() for t in entry.get("to", [])]:
            continue
        if subject_contains is not None and subject_contains.casefold() not in entry.get("subject", "").casefold():
            continue
        out.append(entry)
    return out


def read_message(directory: str | Path, entry: dict) -> EmailMessage:
    path = Path(entry["file"])
    if not path.is_absolute():
        path = Path(directory) / path
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def read_body(directory: str | Path, entry: dict) -> str:
    """The text body of an indexed message."""
    msg = read_message(directory, entry)
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is not None:
        return part.get_content()
    payload = msg.get_payload(decode=True)
    return payload.decode(errors="replace") if payload else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.smtp_capture", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail", help="where messages and index.jsonl are written")
    args = parser.parse_args(argv)

    capture = SmtpCapture(args.dir, args.host, args.port).start()
    where = capture.directory.resolve()
    print(f"smtp capture listening on {capture.host}:{capture.port}; writing mail to {where}/ "
          f"(index: {where / INDEX})", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.2)
    finally:
        capture.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
