"""Candidate portal tokens: one per application (`a`) or per re-engagement offer (`r`)."""

from __future__ import annotations

from shared.config import load
from shared.signing import BadSignature, sign, verify

_PURPOSE = "portal"
KINDS = {"a": "application", "r": "reengagement"}


def portal_token(kind: str, object_id: str, secret: str | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown portal token kind {kind!r}")
    return sign({"k": kind, "id": object_id}, secret or load().portal_secret, _PURPOSE)


def read_portal_token(token: str, secret: str | None = None) -> tuple[str, str]:
    """Returns (kind, id); raises BadSignature for anything not issued by us."""
    body = verify(token, secret or load().portal_secret, _PURPOSE)
    kind, object_id = body.get("k"), body.get("id")
    if kind not in KINDS or not isinstance(object_id, str):
        raise BadSignature("not a portal token")
    return kind, object_id


def portal_url(kind: str, object_id: str, base_url: str | None = None) -> str:
    base = (base_url or load().public_url).rstrip("/")
    return f"{base}/portal/{portal_token(kind, object_id)}"
