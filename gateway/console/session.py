"""Console sign-in: an API key, checked once, kept server-side behind a session cookie. A user's sign-in
(email and password, or single sign-on) is a key of the user's made for the session (gateway/signin.py).

The browser holds only a random session id in an HttpOnly, SameSite=Strict cookie scoped to /console; the
key itself is sealed (shared/crypto.py) in Redis under a hash of that id, so neither a script in the page
nor a Redis dump hands out a usable key. Signing out deletes the record, so a copied cookie dies with it.

Every state-changing form carries the session's CSRF token (compared in constant time) and must come from
this origin when the browser says where it came from; SameSite=Strict is the second line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from fastapi import Request

from shared.crypto import open_sealed, seal

COOKIE = "hireloop_session"
LOGIN_COOKIE = "hireloop_login_csrf"
SESSION_SECONDS = 8 * 3600


@dataclass
class Session:
    id_hash: str
    key: str
    csrf: str
    name: str
    role: str
    divisions: list[str]
    flash: dict | None = None  # {kind: ok|error, text}
    user_id: str | None = None  # a user's sign-in (issue 20); None: signed in with an API key


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, redis, prefix: str):
        self.redis = redis
        self.prefix = prefix

    def _key(self, id_hash: str) -> str:
        return f"{self.prefix}:console:session:{id_hash}"

    async def create(self, key: str, name: str, role: str, divisions: list[str], user_id: str | None = None) -> str:
        session_id = secrets.token_urlsafe(32)
        record = {"key": seal(key), "csrf": secrets.token_urlsafe(32), "name": name, "role": role,
                  "divisions": divisions, "user_id": user_id}
        await self.redis.set(self._key(_hash(session_id)), json.dumps(record), ex=SESSION_SECONDS)
        return session_id

    async def load(self, request: Request) -> Session | None:
        session_id = request.cookies.get(COOKIE)
        if not session_id or len(session_id) > 100:
            return None
        id_hash = _hash(session_id)
        raw = await self.redis.get(self._key(id_hash))
        if raw is None:
            return None
        record = json.loads(raw)
        return Session(id_hash=id_hash, key=open_sealed(record["key"]), csrf=record["csrf"], name=record["name"],
                       role=record["role"], divisions=record.get("divisions") or [], flash=record.get("flash"),
                       user_id=record.get("user_id"))

    async def set_flash(self, session: Session, message: dict | None) -> None:
        """A one-line message for the next page (the result of a form), kept with the session."""
        key = self._key(session.id_hash)
        raw = await self.redis.get(key)
        if raw is None:
            return
        record = json.loads(raw)
        record["flash"] = message
        await self.redis.set(key, json.dumps(record), keepttl=True)

    async def pop_flash(self, session: Session) -> dict | None:
        if session.flash:
            await self.set_flash(session, None)
        return session.flash

    async def exists(self, session: Session) -> bool:
        """Whether the session is still signed in (not signed out, not expired)."""
        return bool(await self.redis.exists(self._key(session.id_hash)))

    async def delete(self, session: Session) -> None:
        await self.redis.delete(self._key(session.id_hash))


def csrf_ok(expected: str | None, sent: str | None) -> bool:
    return bool(expected and sent) and hmac.compare_digest(expected, sent)


def same_origin(request: Request) -> bool:
    """A form post from another site is refused; browsers send Origin on POSTs (Referer as a fallback)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # non-browser clients; the CSRF token still has to match
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


def cookie_options(request: Request, public_url: str) -> dict:
    """Secure whenever the console is reached over TLS, directly or (PUBLIC_URL https) behind a proxy."""
    secure = request.url.scheme == "https" or public_url.startswith("https://")
    return {"httponly": True, "samesite": "strict", "path": "/console", "secure": secure}
