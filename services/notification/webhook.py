"""HR notices to a division's HR system: a signed JSON POST, with the standard library (`urllib.request`,
green under eventlet once the process is monkey-patched). Every send has a timeout and raises
`SendError` on failure, so the dispatcher re-schedules the notice with back-off, like an email.

What is sent: `POST <hr_webhook_url>` with the JSON body
`{id, kind, division, application_id, candidate_id, subject, body, step, created_at}` (the notice as it
is stored; nothing more about the candidate) and the headers

    Content-Type: application/json
    X-Hireloop-Delivery: <notice id>        the same on every retry of one notice: dedupe on it
    X-Hireloop-Timestamp: <unix seconds>    when this attempt was signed
    X-Hireloop-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + raw body)>

The secret is the division's `hr_webhook_secret` (write-only in the policy API). Any 2xx answer is a
delivery; anything else (other statuses, redirects, refused connections, timeouts) is retried.

How a receiver verifies a delivery:
1. Read the raw request body as bytes, before any JSON parsing (re-serialising changes the bytes).
2. Recompute `hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()` with the
   `X-Hireloop-Timestamp` header's value, and compare it with the hex after `sha256=` in
   `X-Hireloop-Signature` in constant time (`hmac.compare_digest`); refuse on mismatch.
3. Refuse timestamps more than 5 minutes from the receiver's clock (older: a replay).
4. Answer 2xx once stored; treat a repeated `X-Hireloop-Delivery` as already handled (a retry after a
   lost answer re-sends the same notice).
`verify_signature` below does 2 and 3, for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from services.notification.sender import DEFAULT_TIMEOUT, SendError
from shared.timeutil import iso

DELIVERY_HEADER = "X-Hireloop-Delivery"
TIMESTAMP_HEADER = "X-Hireloop-Timestamp"
SIGNATURE_HEADER = "X-Hireloop-Signature"
SIGNATURE_PREFIX = "sha256="
TOLERANCE_SECONDS = 300
USER_AGENT = "hireloop-webhook/1"
PAYLOAD_FIELDS = ("kind", "division", "application_id", "candidate_id", "subject", "body", "step")


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Hireloop-Signature` value: `sha256=` + hex HMAC-SHA256 of `"<timestamp>." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature_header: str, now: float,
                     tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver checks: the signature matches (constant-time) and the timestamp is recent."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header or "")


def payload(notice: dict) -> dict[str, Any]:
    """The JSON body: the notice's own fields, nothing more."""
    return {"id": notice["_id"], **{k: notice.get(k) for k in PAYLOAD_FIELDS},
            "created_at": iso(notice.get("created_at"))}


def encode(notice: dict) -> bytes:
    return json.dumps(payload(notice), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery (urllib would turn the POST into a GET): it fails and is retried."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebhookSender:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.time):
        self.timeout = timeout
        self.clock = clock
        self._opener = urllib.request.build_opener(_NoRedirect())

    def build_request(self, notice: dict, secret: str) -> urllib.request.Request:
        body = encode(notice)
        timestamp = int(self.clock())
        return urllib.request.Request(notice["recipient"], data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: notice["_id"],
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        })

    def send(self, notice: dict, secret: str | None) -> str:
        """POST one notice to its recipient URL; returns the delivery id. Raises SendError on failure.
        Reasons are short (status code, error class): no response bodies, no URLs, no secrets."""
        if not secret:
            raise SendError("webhook secret not set for the division")
        try:
            request = self.build_request(notice, secret)
        except ValueError as exc:  # not a URL urllib can use
            raise SendError(f"webhook URL unusable: {type(exc).__name__}") from exc
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SendError(f"webhook answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            detail = type(reason).__name__ if isinstance(reason, BaseException) else str(reason)[:100]
            raise SendError(f"webhook unreachable: {detail}") from None
        except TimeoutError:
            raise SendError(f"webhook timed out after {self.timeout:g}s") from None
        except (OSError, ValueError) as exc:  # reset mid-answer, bad status line...
            raise SendError(f"webhook failed: {type(exc).__name__}") from None
        if not 200 <= status < 300:  # 1xx or anything urllib let through
            raise SendError(f"webhook answered HTTP {status}")
        return notice["_id"]
