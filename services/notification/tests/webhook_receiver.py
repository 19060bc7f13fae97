"""A real HTTP peer for webhook tests: a stdlib server in a thread that checks each request's signature
the way a receiver would (written here from the documented rule, not with the code under test), records
it, and answers with scripted statuses per path (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float  # time.monotonic()
    signature_ok: bool

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery(self) -> str | None:
        return self.headers.get("x-hireloop-delivery")


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> secret it verifies with
        self.scripts: dict[str, list[int]] = {}  # path -> statuses still to answer before 200s
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(receiver._answer(self.path, headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path, "")
        timestamp = headers.get("x-hireloop-timestamp", "")
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        ok = fresh and hmac.compare_digest(expected_signature(secret, timestamp, body),
                                           headers.get("x-hireloop-signature", ""))
        with self._lock:
            script = self.scripts.get(path) or []
            status = script.pop(0) if script else 200
            if not ok:
                status = 401  # a real receiver refuses what it cannot verify
            self.hits.append(Hit(path, headers, body, status, time.monotonic(), ok))
        return status

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def expect(self, path: str, secret: str, statuses: list[int] | None = None) -> str:
        """Serve `path`, verifying with `secret`, answering `statuses` first; returns its URL."""
        with self._lock:
            self.secrets[path] = secret
            self.scripts[path] = list(statuses or [])
        return self.url(path)

    def at(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
