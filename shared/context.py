"""The caller context that crosses the bus: signed by the gateway, verified by every service.

Header `nameko.hireloop_caller` (context key `hireloop_caller`) holds the signed Caller. nameko copies a
worker's context into the headers of every RPC it makes, so the identity follows a request from
service to service; a service acting on its own (timer, event handler) signs a system caller.
"""

from __future__ import annotations

from shared.config import load
from shared.contracts.caller import Caller
from shared.errors import Unauthenticated
from shared.signing import BadSignature, sign, verify

CALLER_CONTEXT_KEY = "hireloop_caller"
_PURPOSE = "caller"
# Long enough for a request and the RPCs it makes; short enough that a captured header is soon useless.
CALLER_TTL_SECONDS = 300


def sign_caller(caller: Caller, secret: str | None = None) -> str:
    return sign(caller.model_dump(mode="json"), secret or load().context_secret, _PURPOSE, CALLER_TTL_SECONDS)


def verify_caller(token: str | None, secret: str | None = None) -> Caller:
    if not token:
        raise Unauthenticated("missing caller context")
    try:
        body = verify(token, secret or load().context_secret, _PURPOSE)
        return Caller.model_validate(body)
    except (BadSignature, ValueError) as exc:
        raise Unauthenticated(f"caller context rejected: {exc}") from exc
