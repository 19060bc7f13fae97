"""Signing a person in: the lockout counters (Redis), the password and second-factor checks, and the key a
console session holds (gateway/keys.py: a sign-in is a key of the user's, expiring with the session).

Lockout: each failure counts against the account (the email as typed, hashed, whether or not a user has
it) and against the client address, in a window of an hour. From the ACCOUNT_AFTER-th failure on an
account (ADDRESS_AFTER-th from one address) that account (address) is locked for BASE_SECONDS, doubled with
each further failure up to MAX_SECONDS. A locked account answers as a wrong password would, with when to try
again, and checks no password meanwhile; a right password ends the account's count.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from gateway import passwords
from gateway.keys import KeyStore
from gateway.users import ACTIVE, UserStore, totp_of, user_caller_divisions
from shared.timeutil import utcnow

SESSION_SECONDS = 8 * 3600  # as gateway/console/session.py


@dataclass
class Locked(Exception):  # noqa: N818 - reads as "(the account is) locked"
    retry_after: int


class Throttle:
    ACCOUNT_AFTER = 5
    ADDRESS_AFTER = 20
    BASE_SECONDS = 30
    MAX_SECONDS = 3600
    WINDOW_SECONDS = 3600

    def __init__(self, redis, prefix: str):
        self.redis = redis
        self.prefix = prefix

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return [(f"{self.prefix}:signin:account:{account}", self.ACCOUNT_AFTER),
                (f"{self.prefix}:signin:address:{address}", self.ADDRESS_AFTER)]

    async def check(self, email: str, address: str) -> None:
        """Raise Locked (with the seconds to wait) while the account or the address is locked."""
        waits = [await self.redis.pttl(f"{key}:locked") for key, _ in self._keys(email, address)]
        longest = max(waits)
        if longest > 0:
            raise Locked(max(1, math.ceil(longest / 1000)))

    async def failed(self, email: str, address: str) -> None:
        for key, after in self._keys(email, address):
            count = await self.redis.incr(f"{key}:failures")
            await self.redis.expire(f"{key}:failures", self.WINDOW_SECONDS)
            if count >= after:
                seconds = min(self.BASE_SECONDS * 2 ** (count - after), self.MAX_SECONDS)
                await self.redis.set(f"{key}:locked", "1", ex=seconds)

    async def succeeded(self, email: str) -> None:
        account, _ = self._keys(email, "-")[0]
        await self.redis.delete(f"{account}:failures", f"{account}:locked")


class SignInRefused(Exception):
    """Email and password do not match an active user (one message for every reason)."""


async def check_password(users: UserStore, email: str, password: str) -> dict:
    """The active user of that email and password, else SignInRefused. The same work is done for an unknown
    email, an invited user and a wrong password (one Argon2 verification each)."""
    user = await users.by_email(email) if email else None
    stored = user.get("password_hash") if user else None
    matched = passwords.verify(password, stored)
    if not matched or user is None or user["status"] != ACTIVE:
        raise SignInRefused()
    return user


def needs_code(user: dict) -> bool:
    return totp_of(user) is not None


def code_ok(user: dict, code: str) -> bool:
    """A current code of the user's second factor (one step of clock drift either way)."""
    totp = totp_of(user)
    code = code.replace(" ", "")
    return totp is not None and code.isdigit() and len(code) == 6 and totp.verify(code, valid_window=1)


async def session_key(keys: KeyStore, user: dict, seconds: int = SESSION_SECONDS) -> dict:
    """A key of the user's, with their role and divisions, that the console session holds; it expires with the
    session and is revoked with the user."""
    divisions = [d for d in user_caller_divisions(user) if d != "*"]
    return await keys.create(user["name"], user["role"], divisions, utcnow() + timedelta(seconds=seconds),
                             user["email"], user_id=user["_id"], session=True)
