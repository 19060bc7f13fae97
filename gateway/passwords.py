"""Staff passwords: Argon2id hashes (pwdlib, the library's recommended parameters) and the strength rules a
new password must pass. Plain rules, no I/O beyond reading the shipped list of common passwords once.

Strength is checked with rules rather than a scoring library (docs/decisions/008-users.md): at least 12
characters, not the person's email, its local part or name (nor one containing the other), and not one of a
small list of common passwords (gateway/common_passwords.txt). Length is what makes guessing slow; the rest
refuses the guesses an attacker tries first.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 takes any length; a bound keeps one sign-in from costing a megabyte of hashing
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

_HASHER = PasswordHash((Argon2Hasher(),))  # Argon2id (argon2-cffi's default type)
# Verified against when the email is unknown, so an unknown address costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-password-anyone-has")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def weakness(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` may not be used, in words for the person typing it; None when it may."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"use at most {MAX_LENGTH} characters"
    if not password.strip():
        return "use more than spaces"
    folded = password.casefold()
    email = email.casefold()
    personal = [email, email.partition("@")[0], name.casefold(), name.casefold().replace(" ", "")]
    for part in personal:
        if len(part) >= 3 and (part in folded or folded in part):
            return "do not use your email address or name"
    if folded in common_passwords() or len(set(folded)) <= 2:
        return "this password is too common; choose another"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password: str, stored: str | None) -> bool:
    """Whether `password` matches the stored hash; with no hash (an invited user, an unknown email) a hash is
    still computed, so the answer takes as long either way."""
    if not stored or len(password) > MAX_LENGTH:  # no password this long was ever set
        _HASHER.verify(password[:MAX_LENGTH], _DUMMY_HASH)
        return False
    try:
        return _HASHER.verify(password, stored)
    except (ValueError, UnknownHashError):  # not a hash pwdlib knows: never a match
        return False
