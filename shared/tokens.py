"""Candidate portal tokens: one per application (`a`), per re-engagement offer (`r`) or per talent-community
sign-up (`m`, a member: the same token confirms the sign-up and opens the member's portal)."""

from __future__ import annotations

from shared.config import Settings
from shared.signing import BadSignature, sign, verify

_PURPOSE = "portal"
KINDS = {"a": "application", "r": "reengagement", "m": "member"}


def portal_token(kind: str, object_id: str, secret: str) -> str:
    """`secret`: HIRELOOP_PORTAL_SECRET (Settings.portal_secret)."""
    if kind not in KINDS:
        raise ValueError(f"unknown portal token kind {kind!r}")
    return sign({"k": kind, "id": object_id}, secret, _PURPOSE)


def read_portal_token(token: str, secret: str) -> tuple[str, str]:
    """Returns (kind, id); raises BadSignature for anything not issued by us."""
    body = verify(token, secret, _PURPOSE)
    kind, object_id = body.get("k"), body.get("id")
    if kind not in KINDS or not isinstance(object_id, str):
        raise BadSignature("not a portal token")
    return kind, object_id


def portal_url(kind: str, object_id: str, settings: Settings) -> str:
    """The candidate's link: PUBLIC_URL and a token signed with the portal secret."""
    return f"{settings.public_url.rstrip('/')}/portal/{portal_token(kind, object_id, settings.portal_secret)}"
