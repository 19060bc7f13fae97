"""Staff passwords (gateway/passwords.py): Argon2id hashes through pwdlib and the strength rules."""

from __future__ import annotations

import pytest

from gateway import passwords


@pytest.mark.parametrize(("password", "why"), [
    ("short pass", "at least 12"),
    (" " * 20, "more than spaces"),
    ("x" * 257, "at most 256"),
    ("Password1234", "too common"),
    ("correcthorsebatterystaple", "too common"),
    ("abababababababab", "too common"),
    ("mei.lin@example.com", "email address or name"),
    ("mei.lin-is-great", "email address or name"),
    ("MeiLin2026!!xyz", "email address or name"),
])
def test_weak_passwords_are_refused_with_a_reason(password, why):
    assert why in passwords.weakness(password, email="mei.lin@example.com", name="Mei Lin")


def test_a_long_unrelated_password_passes():
    assert passwords.weakness("violet harbour tram 42", email="mei.lin@example.com", name="Mei Lin") is None


def test_hashes_are_argon2id_salted_and_verified():
    first, second = passwords.hash_password("violet harbour tram 42"), passwords.hash_password("violet harbour tram 42")
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify("violet harbour tram 42", first)
    assert not passwords.verify("violet harbour tram 43", first)
    assert not passwords.verify("violet harbour tram 42", None)  # an invited user has no password yet
    assert not passwords.verify("violet harbour tram 42", "not-a-hash")
    assert not passwords.verify("violet harbour tram 42" + "x" * 300, first)
