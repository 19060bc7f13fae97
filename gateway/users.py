"""Staff users: people who sign in to the console (docs/decisions/008-users.md). They live in the gateway's
own database next to the API keys, since the gateway is what authenticates; services see a person only as
the signed caller of a request, as before.

A user is `invited` (no password yet), `active` (a password set through the emailed link, or signed in with
single sign-on) or `deactivated` (for good: every key of theirs is revoked at that moment, gateway/keys.py).
Links (invitation: 72 h, password reset: 1 h) carry a random token stored only as its SHA-256 and used once:
taking it is one conditional update, so two posts of one link cannot both set a password.

Sign-in failures are counted in Redis per account (the email typed, known or not, so an unknown address
answers exactly as a wrong password) and per client address; past a threshold each is locked for a time
that doubles with every further failure.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.contracts.caller import ALL_DIVISIONS, Caller
from shared.crypto import open_sealed, seal
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.storage import decode_cursor, encode_cursor
from shared.timeutil import iso, utcnow

INVITED, ACTIVE, DEACTIVATED = "invited", "active", "deactivated"
INVITATION, RESET = "invitation", "reset"
TOKEN_LIFETIME = {INVITATION: timedelta(hours=72), RESET: timedelta(hours=1)}
TOTP_ISSUER = "hireloop"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normal_email(email: str) -> str:
    """One spelling per address: the unique index and sign-in both use it."""
    return email.strip().lower()


def view(doc: dict) -> dict[str, Any]:
    """A user as the API answers it: never a hash or a second-factor secret."""
    return {"id": doc["_id"], "email": doc["email"], "name": doc["name"], "role": doc["role"],
            "divisions": doc.get("divisions", []), "status": doc["status"], "locale": doc.get("locale", "en"),
            "timezone": doc.get("timezone", "UTC"), "totp_enabled": bool(doc.get("totp_secret")),
            "created_at": iso(doc.get("created_at")), "activated_at": iso(doc.get("activated_at")),
            "deactivated_at": iso(doc.get("deactivated_at"))}


def caller_may_manage(caller: Caller, role: str, divisions: list[str]) -> bool:
    """Admin manages anyone; HR manages recruiters and interviewers whose divisions are all its own."""
    if caller.role == "admin" or caller.role == "system":
        return True
    return (caller.role == "hr" and role in ("recruiter", "interviewer") and bool(divisions)
            and all(caller.can_see(d) for d in divisions))


def caller_may_see(caller: Caller, doc: dict) -> bool:
    return caller.is_group_wide or any(caller.can_see(d) for d in doc.get("divisions", []))


class TokenRefused(Exception):
    """A link that cannot be used: `reason` is `unknown`, `expired` or `used` (the page says which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UserStore:
    def __init__(self, client: AsyncMongoClient, database: str):
        self.users = client[database].users
        self.tokens = client[database].user_tokens

    async def setup(self) -> None:
        await self.users.create_index("email", unique=True)
        await self.users.create_index("divisions")
        # Used or expired links are kept a week (a reused link can still say "already used"), then dropped.
        await self.tokens.create_index("purge_at", expireAfterSeconds=0)

    async def create(self, *, email: str, name: str, role: str, divisions: list[str], locale: str, timezone: str,
                     created_by: str) -> dict:
        doc = {"_id": new_id("usr"), "email": normal_email(email), "name": name, "role": role,
               "divisions": [] if role == "admin" else sorted(set(divisions)), "locale": locale,
               "timezone": timezone, "status": INVITED, "password_hash": None, "created_at": utcnow(),
               "created_by": created_by, "activated_at": None, "deactivated_at": None}
        try:
            await self.users.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict(f"a user with email {doc['email']} exists already", code="user_exists",
                           field="email") from None
        return doc

    async def get(self, user_id: str) -> dict | None:
        return await self.users.find_one({"_id": user_id})

    async def by_email(self, email: str) -> dict | None:
        return await self.users.find_one({"email": normal_email(email)})

    async def list(self, caller: Caller, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        after = decode_cursor(cursor)
        query: dict[str, Any] = {}
        scope = caller.division_filter()
        if scope is not None:
            query["divisions"] = {"$in": scope}
        if after:
            query["_id"] = {"$gt": after}
        docs = [d async for d in self.users.find(query).sort("_id", 1).limit(limit + 1)]
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return docs[:limit], next_cursor

    async def deactivate(self, user_id: str) -> dict:
        doc = await self.users.find_one_and_update(
            {"_id": user_id}, {"$set": {"status": DEACTIVATED, "deactivated_at": utcnow()}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            raise NotFound(f"no user {user_id}")
        await self.tokens.update_many({"user_id": user_id, "used_at": None}, {"$set": {"used_at": utcnow()}})
        return doc

    # -- links -------------------------------------------------------------------------------------------
    async def issue_token(self, user_id: str, purpose: str) -> tuple[str, datetime]:
        """A new single-use link token for the user (earlier unused ones of that purpose stop working)."""
        now = utcnow()
        await self.tokens.update_many({"user_id": user_id, "purpose": purpose, "used_at": None},
                                      {"$set": {"used_at": now, "superseded": True}})
        token = secrets.token_urlsafe(32)
        expires = now + TOKEN_LIFETIME[purpose]
        await self.tokens.insert_one({"_id": _token_hash(token), "user_id": user_id, "purpose": purpose,
                                      "created_at": now, "expires_at": expires, "used_at": None,
                                      "purge_at": expires + timedelta(days=7)})
        return token, expires

    async def check_token(self, token: str, purpose: str) -> dict:
        """The user a still usable link belongs to; TokenRefused otherwise. Changes nothing."""
        found = await self.tokens.find_one({"_id": _token_hash(token), "purpose": purpose}) if token else None
        if found is None:
            raise TokenRefused("unknown")
        if found.get("used_at") is not None:
            raise TokenRefused("used")
        if found["expires_at"] <= utcnow():
            raise TokenRefused("expired")
        user = await self.get(found["user_id"])
        if user is None or user["status"] == DEACTIVATED:
            raise TokenRefused("used")
        return user

    async def set_password_with(self, token: str, purpose: str, password_hash: str) -> dict:
        """Take the link (once: a conditional update) and set the user's password; the user is active."""
        user = await self.check_token(token, purpose)
        now = utcnow()
        taken = await self.tokens.find_one_and_update(
            {"_id": _token_hash(token), "used_at": None, "expires_at": {"$gt": now}}, {"$set": {"used_at": now}})
        if taken is None:  # another post of the same link got there first
            raise TokenRefused("used")
        updated = await self.users.find_one_and_update(
            {"_id": user["_id"], "status": {"$ne": DEACTIVATED}},
            {"$set": {"password_hash": password_hash, "status": ACTIVE,
                      "activated_at": user.get("activated_at") or now, "password_set_at": now}},
            return_document=ReturnDocument.AFTER)
        if updated is None:
            raise TokenRefused("used")
        return updated

    async def activate(self, user_id: str) -> None:
        """Single sign-on proved the address: an invited user is active from now on."""
        await self.users.update_one({"_id": user_id, "status": INVITED},
                                    {"$set": {"status": ACTIVE, "activated_at": utcnow()}})

    async def set_preferences(self, user_id: str, locale: str, timezone: str) -> None:
        """The console's language and time zone for this user (checked by the caller)."""
        await self.users.update_one({"_id": user_id}, {"$set": {"locale": locale, "timezone": timezone}})

    # -- second factor -----------------------------------------------------------------------------------
    async def start_totp(self, user_id: str) -> str:
        """A new secret waiting for its first code (sealed at rest); the enabled one, if any, stays until then."""
        secret = pyotp.random_base32()
        await self.users.update_one({"_id": user_id}, {"$set": {"totp_pending": seal(secret)}})
        return secret

    @staticmethod
    def pending_totp(doc: dict) -> str | None:
        return open_sealed(doc.get("totp_pending"))

    async def confirm_totp(self, user_id: str, secret: str) -> None:
        await self.users.update_one({"_id": user_id},
                                    {"$set": {"totp_secret": seal(secret)}, "$unset": {"totp_pending": ""}})


def totp_of(doc: dict) -> pyotp.TOTP | None:
    secret = open_sealed(doc.get("totp_secret"))
    return pyotp.TOTP(secret) if secret else None


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def user_caller_divisions(doc: dict) -> tuple[str, ...]:
    return (ALL_DIVISIONS,) if doc["role"] == "admin" else tuple(doc.get("divisions", []))
