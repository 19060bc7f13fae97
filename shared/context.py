"""The caller context that crosses the bus: signed for one call, verified by the service that executes it.

Header `nameko.hireloop_caller` (context key `hireloop_caller`) holds a signed token naming the Caller and
the one call it authorises: the target service, the method, a digest of the arguments, a unique id (jti)
and an expiry of at most CALLER_TTL_SECONDS. The gateway signs one per RPC; a service calling another
re-signs its (verified) caller for that downstream call (shared/bus/callers.py), and a handler or timer
acting on its own signs a system caller the same way. The receiving service checks the token against the
RPC it is executing (its own name, the entrypoint's method, the arguments it received) and refuses an id it
has seen before (replay cache, shared/bus/callers.py). So a context sniffed from one call is useless for
any other call, and for the same call a second time.

This module is pure (no I/O): `ReplayCache` is whatever remembers ids; the nameko side gives it Redis.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.contracts.caller import Caller
from shared.errors import Unauthenticated
from shared.signing import BadSignature, sign, verify

CALLER_CONTEXT_KEY = "hireloop_caller"
_PURPOSE = "caller-call"
# A token is signed right before its call is published: long enough for the request to wait in a busy
# queue, short enough that a captured header is soon useless (and the replay cache stays small).
CALLER_TTL_SECONDS = 30
# How long a used id is remembered: its whole life, plus room for clocks of signer and verifier to differ.
MAX_CLOCK_SKEW_SECONDS = 30
REPLAY_TTL_SECONDS = CALLER_TTL_SECONDS + MAX_CLOCK_SKEW_SECONDS


def wire_form(value: Any) -> Any:
    """`value` as the receiving service sees it after the JSON round trip of the RPC body (tuples become
    lists, dict keys strings, datetimes and other objects their `str()`, as the publishers encode them)."""
    return json.loads(json.dumps(value, default=str))


def arguments_digest(args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the call's arguments in wire form: sorted keys, no spaces, ASCII.
    The gateway computes it over what it publishes, the service over what it received: the same bytes."""
    canonical = json.dumps(wire_form({"args": list(args), "kwargs": kwargs}), sort_keys=True,
                           separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SignedCall:
    """What a verified token says: who calls, and the id that must not be seen again."""

    caller: Caller
    jti: str


class ReplayCache(Protocol):
    def first_use(self, jti: str) -> bool:
        """Remember `jti` for REPLAY_TTL_SECONDS; True only the first time it is seen."""


def sign_caller(caller: Caller, service: str, method: str, kwargs: dict[str, Any], *, args: Sequence[Any] = (),
                secret: str, ttl: float = CALLER_TTL_SECONDS) -> str:
    """A token that lets `caller` make exactly the call `service.method(*args, **kwargs)`, once, within `ttl`."""
    body = {
        "caller": caller.model_dump(mode="json"),
        "service": service,
        "method": method,
        "digest": arguments_digest(args, kwargs),
        "jti": uuid.uuid4().hex,
    }
    return sign(body, secret, _PURPOSE, min(ttl, CALLER_TTL_SECONDS))


def verify_caller(token: str | None, service: str, method: str, kwargs: dict[str, Any], *,
                  args: Sequence[Any] = (), secret: str) -> SignedCall:
    """Check the signature, the expiry, and that the token was signed for this very call (service, method,
    arguments). Raises Unauthenticated otherwise. The caller of this function checks the id is new."""
    if not token:
        raise Unauthenticated("missing caller context")
    try:
        body = verify(token, secret, _PURPOSE)
        signed_for = (body.get("service"), body.get("method"))
        if signed_for != (service, method):
            raise BadSignature(f"signed for {signed_for[0]}.{signed_for[1]}, not {service}.{method}")
        if body.get("digest") != arguments_digest(args, kwargs):
            raise BadSignature("signed for other arguments")
        jti = body.get("jti")
        if not isinstance(jti, str) or not jti:
            raise BadSignature("no call id")
        return SignedCall(Caller.model_validate(body.get("caller")), jti)
    except (BadSignature, ValueError) as exc:
        raise Unauthenticated(f"caller context rejected: {exc}") from exc


def verify_once(token: str | None, service: str, method: str, kwargs: dict[str, Any], replay: ReplayCache, *,
                args: Sequence[Any] = (), secret: str) -> Caller:
    """`verify_caller`, then refuse an id already used: a verbatim replay of a genuine call."""
    signed = verify_caller(token, service, method, kwargs, args=args, secret=secret)
    if not replay.first_use(signed.jti):
        raise Unauthenticated("caller context rejected: already used")
    return signed.caller
