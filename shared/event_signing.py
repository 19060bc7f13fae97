"""Event signatures: every event on the bus is signed by its producer with the producer's own Ed25519 key,
and every consumer verifies it before the event reaches its inbox. Pure: no broker, no database.

What is signed: the envelope as published (type, producer, event id, occurred time, version, correlation
and causation ids, payload), as canonical JSON (sorted keys, no spaces), prefixed with a domain tag. The
signature travels inside the envelope (`signature: {kid, value}`), so it survives every path a message
takes byte for byte: parking in `<service>.wait`, dead-lettering, `make dlq replay`.

Keys (settings, shared/config.py):
- `HIRELOOP_EVENT_SIGNING_KEY`: this process's private key, `<kid>:<base64 of the 32-byte Ed25519 seed>`.
  A service holds only its own.
- `HIRELOOP_EVENT_PUBLIC_KEYS`: every producer's public keys, `<producer>:<kid>:<base64 of the 32-byte
  public key>`, separated by commas or whitespace. A producer may have two (or more) at once: rotation is
  publish the new public key everywhere, switch the producer's private key, drop the old public key once
  no event signed with it can still arrive (HIRELOOP_EVENT_MAX_AGE_SECONDS later).
- `HIRELOOP_EVENT_MAX_AGE_SECONDS`: an event that occurred longer ago is refused as stale. It must stay
  below the inbox's memory of handled ids (INBOX_RETENTION_SECONDS, 30 days, shared/storage.py): an exact
  replay within it is a duplicate (the inbox acks it, nothing changes); after it, the event is stale.

Refusals (`EventRefused.reason`, the dead letter's `x-hireloop-reason`): see REASONS.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

SIGNING_KEY_VAR = "HIRELOOP_EVENT_SIGNING_KEY"
PUBLIC_KEYS_VAR = "HIRELOOP_EVENT_PUBLIC_KEYS"
MAX_AGE_VAR = "HIRELOOP_EVENT_MAX_AGE_SECONDS"
DEFAULT_MAX_AGE_SECONDS = 14 * 86400
# Safely below the inbox retention (30 days): a replay the inbox no longer recognises is always stale.
MAX_AGE_LIMIT_SECONDS = 20 * 86400
# Clocks differ a little between hosts; an event from further in the future is refused (it would outlive
# the inbox's memory of it otherwise).
CLOCK_SKEW_SECONDS = 300
SIGNED_FIELDS = ("type", "producer", "event_id", "occurred_at", "version", "correlation_id", "causation_id",
                 "payload")
_DOMAIN = b"hireloop-event-v1\n"
_KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PRODUCER = re.compile(r"[a-z][a-z_]{0,63}")

REASONS = {
    "unsigned_event": "no signature in the envelope",
    "malformed_signature": "the signature is not {kid, value} with a base64 Ed25519 signature",
    "not_producer_of_type": "the catalogue has no such event from that producer",
    "unknown_key": "the key id is not among the configured public keys",
    "wrong_producer_key": "the key belongs to another producer",
    "bad_signature": "the signature does not match the envelope (forged or tampered)",
    "stale_event": "occurred longer ago than the maximum age, or too far in the future",
}


class EventRefused(Exception):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.strip(), validate=True)


# -- keys --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def public_text(self) -> str:
        return _b64(self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def __repr__(self) -> str:  # never print the private key
        return f"SigningKey(kid={self.kid!r})"


@dataclass(frozen=True)
class PublicKey:
    producer: str
    kid: str
    key: Ed25519PublicKey


def generate(kid: str) -> SigningKey:
    if not _KID.fullmatch(kid):
        raise ValueError(f"key id {kid!r}: letters, digits, '.', '_' or '-', at most 64")
    return SigningKey(kid, Ed25519PrivateKey.generate())


def signing_key_text(key: SigningKey) -> str:
    """The value of HIRELOOP_EVENT_SIGNING_KEY for `key`."""
    seed = key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return f"{key.kid}:{_b64(seed)}"


def public_key_text(producer: str, key: SigningKey) -> str:
    """One entry of HIRELOOP_EVENT_PUBLIC_KEYS for `key`, owned by `producer`."""
    return f"{producer}:{key.kid}:{key.public_text()}"


@lru_cache(maxsize=32)
def parse_signing_key(value: str, name: str = SIGNING_KEY_VAR) -> SigningKey | None:
    """`<kid>:<base64 seed>`, or empty (None: this process signs nothing). Anything else raises ValueError
    naming the variable (never echoing the value: it is a secret)."""
    text = value.strip()
    if not text:
        return None
    kid, sep, seed_text = text.partition(":")
    try:
        if not sep or not _KID.fullmatch(kid):
            raise ValueError
        seed = _unb64(seed_text)
        if len(seed) != 32:
            raise ValueError
        return SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed))
    except (ValueError, binascii.Error):
        raise ValueError(f"{name}: expected '<key id>:<base64 of a 32-byte Ed25519 private key>' "
                         f"(`python -m shared.event_signing generate <producer> <kid>` makes one)") from None


@lru_cache(maxsize=32)
def parse_public_keys(value: str, name: str = PUBLIC_KEYS_VAR) -> Mapping[str, PublicKey]:
    """`<producer>:<kid>:<base64 public key>` entries separated by commas or whitespace, keyed by kid.
    Strict: a malformed entry or a key id used twice raises ValueError naming the variable and the entry."""
    keys: dict[str, PublicKey] = {}
    for n, entry in enumerate(e for e in re.split(r"[,\s]+", value.strip()) if e):
        parts = entry.split(":")
        try:
            if len(parts) != 3 or not _PRODUCER.fullmatch(parts[0]) or not _KID.fullmatch(parts[1]):
                raise ValueError
            raw = _unb64(parts[2])
            if len(raw) != 32:
                raise ValueError
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error):
            raise ValueError(f"{name}: entry {n + 1} ({entry[:80]!r}) is not "
                             f"'<producer>:<key id>:<base64 of a 32-byte Ed25519 public key>'") from None
        if parts[1] in keys:
            raise ValueError(f"{name}: key id {parts[1]!r} appears twice (key ids must be unique)")
        keys[parts[1]] = PublicKey(parts[0], parts[1], key)
    return keys


def parse_max_age(value: str, name: str = MAX_AGE_VAR) -> int:
    try:
        seconds = int(value.strip())
    except ValueError:
        seconds = 0
    if not 60 <= seconds <= MAX_AGE_LIMIT_SECONDS:
        raise ValueError(f"{name}={value!r}: expected whole seconds from 60 to {MAX_AGE_LIMIT_SECONDS} (below "
                         f"the inbox's 30-day memory of handled events, so a replay is always refused)")
    return seconds


# -- signing and verifying ---------------------------------------------------------------------------


def signed_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the signed fields of the envelope dict as it travels (JSON types)."""
    material = {f: envelope.get(f) for f in SIGNED_FIELDS}
    return _DOMAIN + json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False).encode()


def sign_envelope(envelope: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """A copy of the JSON envelope with its `signature`. Signs exactly what will be published."""
    body = {k: v for k, v in envelope.items() if k != "signature"}
    value = key.private.sign(signed_bytes(body))
    body["signature"] = {"kid": key.kid, "value": _b64(value)}
    return body


def _occurred(envelope: Mapping[str, Any]) -> datetime:
    raw = envelope.get("occurred_at")
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        when = None
    if when is None:
        raise EventRefused("bad_signature", "occurred_at is not an ISO time")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def verify_envelope(envelope: Mapping[str, Any], public_keys: Mapping[str, PublicKey],
                    catalogue: Iterable[tuple[str, str]], now: datetime,
                    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """Raise EventRefused unless `envelope` (the decoded JSON body) is signed by a current key of its
    producer, that producer publishes that type, and it is not stale. Returns the key id."""
    signature = envelope.get("signature")
    if signature is None:
        raise EventRefused("unsigned_event", "the event carries no signature")
    if (not isinstance(signature, dict) or set(signature) != {"kid", "value"}
            or not isinstance(signature.get("kid"), str) or not isinstance(signature.get("value"), str)):
        raise EventRefused("malformed_signature", "signature must be {kid, value}")
    try:
        value = _unb64(signature["value"])
    except (ValueError, binascii.Error):
        raise EventRefused("malformed_signature", "signature value is not base64") from None
    producer, event_type = envelope.get("producer"), envelope.get("type")
    if (producer, event_type) not in set(catalogue):
        raise EventRefused("not_producer_of_type", f"{producer!s:.40}.{event_type!s:.60} is not in the catalogue")
    kid = signature["kid"]
    key = public_keys.get(kid)
    if key is None:
        raise EventRefused("unknown_key", f"key id {kid[:64]!r} is not a configured public key")
    if key.producer != producer:
        raise EventRefused("wrong_producer_key", f"key {kid!r} belongs to {key.producer}, not {producer}")
    try:
        key.key.verify(value, signed_bytes(envelope))
    except (InvalidSignature, TypeError, ValueError):
        raise EventRefused("bad_signature", f"signature by {kid!r} does not match the envelope") from None
    age = (now - _occurred(envelope)).total_seconds()
    if age > max_age_seconds:
        raise EventRefused("stale_event", f"occurred {age:.0f} s ago (maximum {max_age_seconds} s)")
    if age < -CLOCK_SKEW_SECONDS:
        raise EventRefused("stale_event", f"occurs {-age:.0f} s in the future")
    return kid


def main(argv: list[str] | None = None) -> int:
    """`python -m shared.event_signing generate <producer> <kid>`: prints a new signing key and its public
    key entry (for HIRELOOP_EVENT_SIGNING_KEY and HIRELOOP_EVENT_PUBLIC_KEYS)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "generate":
        print("usage: python -m shared.event_signing generate <producer> <key id>", file=sys.stderr)
        return 2
    key = generate(args[2])
    print(f"{SIGNING_KEY_VAR}={signing_key_text(key)}")
    print(f"{PUBLIC_KEYS_VAR} entry: {public_key_text(args[1], key)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
