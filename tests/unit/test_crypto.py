"""Sealing personal data (shared/crypto.py): round trips, key rotation, tampering, keyed look-ups, config."""

from __future__ import annotations

import base64
import os

import pytest

from shared.crypto import PREFIX, Sealer, SealError, is_sealed


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


LOOKUP = key()


def test_seal_round_trips_with_a_fresh_nonce_each_time():
    sealer = Sealer(f"k1:{key()}", LOOKUP)
    a, b = sealer.seal("ann@example.com"), sealer.seal("ann@example.com")
    assert a != b and a.startswith(PREFIX + "k1:") and "ann" not in a
    assert sealer.open(a) == sealer.open(b) == "ann@example.com"
    assert sealer.seal(None) is None and sealer.open(None) is None
    assert sealer.seal(a) == a  # sealing twice does not nest


def test_rotation_seals_with_the_first_key_and_opens_with_any():
    old, new = key(), key()
    before = Sealer(f"k1:{old}", LOOKUP).seal("+1 555 0100")
    rotated = Sealer(f"k2:{new},k1:{old}", LOOKUP)
    assert rotated.open(before) == "+1 555 0100"
    assert rotated.seal("x").startswith(PREFIX + "k2:")
    with pytest.raises(SealError, match="k1"):
        Sealer(f"k2:{new}", LOOKUP).open(before)  # the old key retired too early


def test_a_tampered_value_or_the_wrong_key_does_not_open():
    sealer = Sealer(f"k1:{key()}", LOOKUP)
    sealed = sealer.seal("bob@example.com")
    raw = bytearray(base64.b64decode(sealed.rsplit(":", 1)[1]))
    raw[-1] ^= 1
    with pytest.raises(SealError):
        sealer.open(sealed.rsplit(":", 1)[0] + ":" + base64.b64encode(bytes(raw)).decode())
    with pytest.raises(SealError):
        Sealer(f"k1:{key()}", LOOKUP).open(sealed)


def test_text_that_is_not_sealed_passes_through():
    assert Sealer(f"k1:{key()}", LOOKUP).open("erased") == "erased"
    assert not is_sealed("a@b.c") and not is_sealed(None)


def test_lookup_is_deterministic_and_keyed():
    one, other = Sealer(f"k1:{key()}", LOOKUP), Sealer(f"k1:{key()}", key())
    assert one.lookup("ann@example.com") == one.lookup("ann@example.com")
    assert one.lookup("ann@example.com") != one.lookup("ann@example.org")
    assert one.lookup("ann@example.com") != other.lookup("ann@example.com")
    assert "ann" not in one.lookup("ann@example.com")


@pytest.mark.parametrize("data_keys, lookup, names", [
    ("k1:short", LOOKUP, "HIRELOOP_DATA_KEYS"),
    ("no-id-" + key(), LOOKUP, "HIRELOOP_DATA_KEYS"),
    (f"k1:{LOOKUP},k1:{LOOKUP}", LOOKUP, "HIRELOOP_DATA_KEYS"),
    (f"k1:{LOOKUP}", "not base64!", "HIRELOOP_LOOKUP_KEY"),
])
def test_bad_keys_are_refused_naming_the_variable(data_keys, lookup, names):
    with pytest.raises(ValueError, match=names):
        Sealer(data_keys, lookup)


def test_the_process_seals_with_the_keys_of_its_settings(monkeypatch):
    """What run_service and the gateway's create_app do at start; a process that configured nothing (a test,
    a tool) seals with the development keys, as one started without the variables does."""
    from gateway.app import create_app
    from shared import crypto
    from shared.config import Settings

    monkeypatch.setattr(crypto, "_sealer", None)
    assert crypto.sealer().current == "dev"
    monkeypatch.setattr(crypto, "_sealer", None)
    configured = Settings(data_keys=f"k7:{key()},dev:{key()}", lookup_key=LOOKUP)
    create_app(configured)
    assert crypto.sealer().current == "k7" and crypto.seal("ann@example.com").startswith("pd1:k7:")
    with pytest.raises(ValueError, match="HIRELOOP_DATA_KEYS"):
        crypto.configure(Settings(data_keys="k1:short"))


def test_bytes_seal_whole_files_and_open_with_any_configured_key():
    old, new = key(), key()
    cv = b"%PDF-1.4 Ann Example, Python, 6 years\x00\xff" * 1000
    sealed = Sealer(f"k1:{old}", LOOKUP).seal_bytes(cv)
    assert sealed.startswith(b"pb1:k1:") and b"Ann Example" not in sealed
    assert Sealer(f"k1:{old}", LOOKUP).seal_bytes(cv) != sealed  # a fresh nonce each time
    rotated = Sealer(f"k2:{new},k1:{old}", LOOKUP)
    assert rotated.open_bytes(sealed) == cv
    assert rotated.seal_bytes(b"x").startswith(b"pb1:k2:")
    with pytest.raises(SealError, match="k1"):
        Sealer(f"k2:{new}", LOOKUP).open_bytes(sealed)


def test_tampered_or_unsealed_bytes_do_not_open():
    sealer = Sealer(f"k1:{key()}", LOOKUP)
    sealed = bytearray(sealer.seal_bytes(b"Ann's CV"))
    sealed[-1] ^= 1
    with pytest.raises(SealError):
        sealer.open_bytes(bytes(sealed))
    with pytest.raises(SealError):
        sealer.open_bytes(b"Ann's CV in clear")
    # A sealed string's bytes are not a sealed file (different prefix and associated data).
    with pytest.raises(SealError):
        sealer.open_bytes(sealer.seal("Ann").encode())
