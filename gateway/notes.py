"""Mentions in staff notes (issue 20): `@` followed by a user's email or id. The gateway resolves them, since it
owns the users (docs/decisions/008-users.md); only active users of the application's division (or admins, who
see every division) are passed on to sourcing, to be listed on the note and notified."""

from __future__ import annotations

import re
from typing import Any

from gateway.users import DEACTIVATED, UserStore, normal_email

# An email or a user id (`usr_` and 24 hex digits, shared/ids.py) right after an `@` that starts a word.
MENTION = re.compile(r"(?<![\w.@])@(usr_[0-9a-f]{24}\b|[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
MAX_MENTIONS = 50  # as many as sourcing takes (shared/contracts/sourcing.py AddNoteArgs)


def mentioned(body: str) -> list[str]:
    """The emails (normalised) and user ids a note's text mentions, first mention first, each once."""
    found = [m if m.startswith("usr_") else normal_email(m) for m in MENTION.findall(body)]
    return list(dict.fromkeys(found))[:MAX_MENTIONS]


def may_be_told(user: dict, division: str) -> bool:
    return user["status"] != DEACTIVATED and (user["role"] == "admin" or division in user.get("divisions", []))


async def resolve(users: UserStore, body: str, division: str) -> list[dict[str, Any]]:
    """The users the note mentions who may read it, as sourcing's AddNoteArgs takes them; others are dropped
    (not told, not listed), the same as a mention of nobody, so a note cannot probe who exists elsewhere."""
    resolved: dict[str, dict[str, Any]] = {}
    for token in mentioned(body):
        user = await (users.get(token) if token.startswith("usr_") else users.by_email(token))
        if user is not None and may_be_told(user, division):
            resolved.setdefault(user["_id"], {"user_id": user["_id"], "name": user["name"], "email": user["email"],
                                              "locale": user.get("locale", "en")})
    return list(resolved.values())
