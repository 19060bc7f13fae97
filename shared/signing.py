"""HMAC-signed compact tokens: `<base64url(json)>.<base64url(hmac-sha256)>`.

Used for the caller context the gateway passes to services (nameko turns every AMQP header into
trusted context, so a division or role in a header is only believed when signed) and for the
candidate portal tokens (unguessable without the secret, bound to one application).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadSignature(Exception):
    pass


def sign(payload: dict[str, Any], secret: str, purpose: str, ttl: float | None = None) -> str:
    body = dict(payload)
    if ttl is not None:
        body["exp"] = int(time.time() + ttl)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(f"{purpose}:{secret}".encode(), raw, hashlib.sha256).digest()
    return f"{_b64(raw)}.{_b64(mac)}"


def verify(token: str, secret: str, purpose: str) -> dict[str, Any]:
    try:
        raw_b64, mac_b64 = token.split(".", 1)
        raw = _unb64(raw_b64)
        mac = _unb64(mac_b64)
    except (ValueError, AttributeError) as exc:
        raise BadSignature("malformed token") from exc
    expected = hmac.new(f"{purpose}:{secret}".encode(), raw, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise BadSignature("bad signature")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadSignature("malformed payload") from exc
    if not isinstance(body, dict):
        raise BadSignature("malformed payload")
    exp = body.pop("exp", None)
    if exp is not None and time.time() > exp:
        raise BadSignature("expired")
    return body
