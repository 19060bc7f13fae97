"""HR notices to a division's HR system: a signed JSON POST with httpx (green under eventlet once the process
is monkey-patched). Every send has a timeout and raises `SendError` on failure, so the dispatcher
re-schedules the notice with back-off, like an email.

Only allowed destinations are sent to (services/notification/destinations.py): the policy PUT refuses an
internal address as written, and every send resolves the host once, checks every address and connects to
the checked one, so a name that resolves (or rebinds) to an internal address is refused too. A refused
destination fails the notice at once (`RefusedDestination`), without a connection, so a notice never
tells anything about an internal service (not even whether it answers).

What is sent: `POST <hr_webhook_url>` with the JSON body
`{id, kind, division, application_id, candidate_id, subject, body, step, created_at}` (the notice as it
is stored; nothing more about the candidate) and the headers

    Content-Type: application/json
    X-Hireloop-Delivery: <notice id>        the same on every retry of one notice: dedupe on it
    X-Hireloop-Timestamp: <unix seconds>    when this attempt was signed
    X-Hireloop-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + raw body)>

The secret is the division's `hr_webhook_secret` (write-only in the policy API, sealed at rest). Any 2xx
answer is a delivery; anything else (other statuses, redirects, refused connections, timeouts) is retried.

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
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.notification import chat
from services.notification.destinations import (
    AllowList,
    Destination,
    DestinationRefused,
    IPAddress,
    check_resolved,
    check_url,
)
from services.notification.sender import DEFAULT_TIMEOUT, RefusedDestination, SendError
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


class WebhookSender:
    """Sends with httpx to the address it checked: the URL's host is resolved once, every address it
    resolves to is checked (`destinations.check_resolved`), and the connection goes to the first one, with
    the URL's host in `Host` and, for https, in SNI and certificate verification. No proxy from the
    environment, no redirects followed, the answer's body is not read."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.time,
                 allow: AllowList | None = None, resolve: Callable[..., list] = socket.getaddrinfo,
                 verify: ssl.SSLContext | bool = True):
        self.timeout = timeout
        self.clock = clock
        self.allow = allow if allow is not None else AllowList()
        self.resolve = resolve  # socket.getaddrinfo's signature (green under eventlet)
        self.verify = verify

    def headers(self, notice: dict, secret: str, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock())
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: notice["_id"],
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }

    def _addresses(self, destination: Destination) -> list[IPAddress]:
        if destination.hostname is None:
            return [destination.host]  # type: ignore[list-item]
        try:
            infos = self.resolve(destination.hostname, destination.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise SendError("webhook unreachable: the host name did not resolve") from None
        addresses: list[IPAddress] = []
        for info in infos:
            try:
                ip = ipaddress.ip_address(info[4][0])
            except ValueError:
                raise RefusedDestination("webhook destination refused: the host name resolves to something "
                                         "that is not an address") from None
            if ip not in addresses:
                addresses.append(ip)
        return addresses

    def target(self, notice: dict) -> tuple[Destination, IPAddress]:
        """Where this notice may go: (destination, the checked address to connect to).
        Raises RefusedDestination (a permanent failure) or SendError (resolution failed: retried)."""
        return self.resolved(notice["recipient"], check_url)

    def resolved(self, url: str, check: Callable[[str, AllowList], Destination]) -> tuple[Destination, IPAddress]:
        """`url` checked as written by `check`, then its host resolved and every address checked."""
        try:
            destination = check(url, self.allow)
            return destination, check_resolved(destination, self._addresses(destination), self.allow)
        except DestinationRefused as exc:
            raise RefusedDestination(f"webhook destination refused: {exc}") from None

    def send(self, notice: dict, secret: str | None) -> str:
        """POST one notice to its recipient URL; returns the delivery id. Raises SendError on failure
        (RefusedDestination, not worth retrying, when the destination is not allowed: nothing is sent).
        Reasons are short (status code, error class): no response bodies, no URLs, no secrets."""
        if not secret:
            raise SendError("webhook secret not set for the division")
        destination, address = self.target(notice)
        body = encode(notice)
        self.post(destination, address, body, self.headers(notice, secret, body), "webhook")
        return notice["_id"]

    def post(self, destination: Destination, address: IPAddress, body: bytes, headers: dict[str, str],
             what: str) -> None:
        """POST `body` to the checked address; raises SendError unless the answer is a 2xx (`what` names the
        channel in the reason)."""
        headers = {"Host": destination.host_header, **headers}
        url = httpx.URL(scheme=destination.scheme, host=str(address), port=destination.port,
                        raw_path=destination.target.encode())
        extensions = {"sni_hostname": destination.hostname} if destination.scheme == "https" and \
            destination.hostname else {}
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False, verify=self.verify) \
                    as client:
                request = client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
                response = client.send(request, stream=True)
                status = response.status_code
                response.close()
        except httpx.TimeoutException:
            raise SendError(f"{what} timed out after {self.timeout:g}s") from None
        except (httpx.ConnectError, httpx.NetworkError) as exc:
            raise SendError(f"{what} unreachable: {type(exc).__name__}") from None
        except (httpx.HTTPError, OSError, ValueError) as exc:  # bad answer, reset mid-answer...
            raise SendError(f"{what} failed: {type(exc).__name__}") from None
        if not 200 <= status < 300:  # a redirect is not a delivery (and is not followed)
            raise SendError(f"{what} answered HTTP {status}")


class ChatSender(WebhookSender):
    """Posts a chat notice's message, formatted for its channel, to the division's URL for that channel:
    the HR webhook's checks and connection (webhook.py) with the chat's own hosts (`chat.checker`)."""

    def send(self, notice: dict, url: str | None) -> str:  # type: ignore[override]
        channel = notice["channel"]
        if channel not in chat.CHANNELS:
            raise RefusedDestination(f"not a chat channel: {channel!r}")
        if not url:
            raise RefusedDestination(f"no {chat.NAMES[channel]} webhook for the division any more")
        destination, address = self.resolved(url, chat.checker(channel))
        body = chat.encode(channel, chat.Message.of(notice["chat"]))
        self.post(destination, address, body, {"Content-Type": "application/json", "User-Agent": USER_AGENT},
                  chat.NAMES[channel])
        return notice["_id"]
