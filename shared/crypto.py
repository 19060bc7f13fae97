"""Personal data at rest: a candidate's email and phone are sealed before anything stores or publishes them.

- `seal` encrypts with AES-256-GCM (a fresh 96-bit nonce per value) under the current data key and
  returns text: `pd1:<key id>:<base64 nonce+ciphertext>`. The key id lets keys rotate: new values use the
  first key of HIRELOOP_DATA_KEYS, older ones open with whichever key sealed them.
- `lookup` is a keyed hash (HMAC-SHA256 under HIRELOOP_LOOKUP_KEY) for finding and de-duplicating by a
  value without storing it: the same email always gives the same lookup, and without the key nobody can
  test a guessed address against it.

Files (CVs and other documents) are sealed whole with `seal_bytes`: `pb1:<key id>:` then the nonce and the
ciphertext, raw bytes (a file is large: no base64 at rest). `open_bytes` refuses bytes that are not sealed.

Values travel sealed on the bus too (events, outbox, dead letters), so only the code that must read one
(a view, a sender) opens it. `open` passes through text that is not sealed (a value written before
encryption, or one erased) and refuses a sealed value it cannot authenticate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import DEV_SECRET, Settings

PREFIX = "pd1:"
BYTES_PREFIX = b"pb1:"
DATA_KEYS_VAR = "HIRELOOP_DATA_KEYS"
LOOKUP_KEY_VAR = "HIRELOOP_LOOKUP_KEY"
# Development keys, derived from the development secret: `make run` and the tests work without set-up;
# production sets both variables (docs/security.md).
DEV_DATA_KEYS = "dev:" + base64.b64encode(hashlib.sha256((DEV_SECRET + ":data").encode()).digest()).decode()
DEV_LOOKUP_KEY = base64.b64encode(hashlib.sha256((DEV_SECRET + ":lookup").encode()).digest()).decode()


class SealError(ValueError):
    """A sealed value that no configured key opens (wrong key, or tampered with)."""


def _key(var: str, text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError(f"{var}: each key must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
    return key


def parse_data_keys(text: str) -> tuple[str, dict[str, bytes]]:
    """`"<id>:<base64 key>[,<id>:<base64 key>...]"`: the first seals, all open. Returns (current id, keys)."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in text.split(",")):
        key_id, sep, encoded = part.partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ValueError(f"{DATA_KEYS_VAR}: expected '<id>:<base64 key>' entries separated by commas, "
                             "ids letters and digits")
        if key_id in keys:
            raise ValueError(f"{DATA_KEYS_VAR}: key id {key_id!r} appears twice")
        keys[key_id] = _key(DATA_KEYS_VAR, encoded)
    return next(iter(keys)), keys


class Sealer:
    def __init__(self, data_keys: str, lookup_key: str):
        self.current, keys = parse_data_keys(data_keys)
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._lookup_key = _key(LOOKUP_KEY_VAR, lookup_key)

    def seal(self, value: str | None) -> str | None:
        if value is None or is_sealed(value):
            return value
        nonce = os.urandom(12)
        sealed = self._aead[self.current].encrypt(nonce, value.encode(), self.current.encode())
        return f"{PREFIX}{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str | None) -> str | None:
        if value is None or not is_sealed(value):
            return value
        key_id, _, encoded = value[len(PREFIX):].partition(":")
        aead = self._aead.get(key_id)
        if aead is None:
            raise SealError(f"sealed with key {key_id!r}, which is not in {DATA_KEYS_VAR}")
        try:
            raw = base64.b64decode(encoded, validate=True)
            return aead.decrypt(raw[:12], raw[12:], key_id.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SealError("a sealed value failed authentication (wrong key or altered)") from exc

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        # The associated data says "a file" as well as the key: sealed bytes never open as a sealed string.
        sealed = self._aead[self.current].encrypt(nonce, data, b"bytes:" + self.current.encode())
        return BYTES_PREFIX + self.current.encode() + b":" + nonce + sealed

    def open_bytes(self, sealed: bytes) -> bytes:
        if not sealed.startswith(BYTES_PREFIX):
            raise SealError("not sealed bytes")
        key_id, sep, raw = sealed[len(BYTES_PREFIX):].partition(b":")
        aead = self._aead.get(key_id.decode("ascii", "replace"))
        if not sep or aead is None:
            raise SealError(f"sealed with key {key_id[:16]!r}, which is not in {DATA_KEYS_VAR}")
        try:
            return aead.decrypt(raw[:12], raw[12:], b"bytes:" + key_id)
        except (InvalidTag, ValueError) as exc:
            raise SealError("sealed bytes failed authentication (wrong key or altered)") from exc

    def lookup(self, value: str) -> str:
        return "h1:" + hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


_sealer: Sealer | None = None


def configure(settings: Settings) -> Sealer:
    """Make the process's sealer from its settings (HIRELOOP_DATA_KEYS, HIRELOOP_LOOKUP_KEY), once, at start:
    `run_service` and the gateway's `create_app` do. A bad key stops the start with the variable's name."""
    global _sealer
    _sealer = Sealer(settings.data_keys or DEV_DATA_KEYS, settings.lookup_key or DEV_LOOKUP_KEY)
    return _sealer


def sealer() -> Sealer:
    """The process's sealer; a process that configured none (a test, a tool) seals with the development keys,
    as a process started without the variables does."""
    global _sealer
    if _sealer is None:
        _sealer = Sealer(DEV_DATA_KEYS, DEV_LOOKUP_KEY)
    return _sealer


def seal(value: str | None) -> str | None:
    return sealer().seal(value)


def open_sealed(value: str | None) -> str | None:
    return sealer().open(value)


def seal_bytes(data: bytes) -> bytes:
    return sealer().seal_bytes(data)


def open_bytes(sealed: bytes) -> bytes:
    return sealer().open_bytes(sealed)


def lookup(value: str) -> str:
    return sealer().lookup(value)
