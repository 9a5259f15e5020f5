"""Passwords (argon2id) and personal tokens (random, stored as SHA-256, with a scope and an expiry)."""

from __future__ import annotations

import hashlib

import pytest

from mecm.domain import credentials
from mecm.errors import InvalidParameter


def test_a_password_is_hashed_with_argon2id_salted_and_verified() -> None:
    first = credentials.hash_password("correct horse battery")
    second = credentials.hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second  # salted
    assert "correct horse" not in first
    assert credentials.password_matches(first, "correct horse battery")
    assert not credentials.password_matches(first, "correct horse battery!")
    assert not credentials.password_matches(None, "correct horse battery")
    assert not credentials.password_matches("not a hash", "correct horse battery")


def test_a_short_password_is_refused_naming_the_rule() -> None:
    with pytest.raises(InvalidParameter, match="password: too short: at least 12 characters"):
        credentials.hash_password("short")


def test_tokens_are_random_marked_and_stored_as_their_sha256() -> None:
    tokens = {credentials.new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert token.startswith("mecm_") and len(token) >= 45
    assert credentials.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in credentials.token_hash(token)


@pytest.mark.parametrize(("expires", "revoked", "now", "usable"), [
    (None, None, 10**13, True),
    (2000, None, 1999, True),
    (2000, None, 2000, False),  # the expiry instant itself is already past
    (2000, None, 5000, False),
    (None, 1500, 1000, False),  # revoked: at once, whatever its expiry
])
def test_token_usable(expires: int | None, revoked: int | None, now: int, usable: bool) -> None:
    assert credentials.token_usable(expires_at_ms=expires, revoked_at_ms=revoked, now_ms=now) is usable


def test_scopes() -> None:
    assert credentials.allows_scope("read", writes=False)
    assert not credentials.allows_scope("read", writes=True)
    assert credentials.allows_scope("write", writes=True)
    with pytest.raises(InvalidParameter, match="scope: 'admin' is not a scope"):
        credentials.check_scope("admin")
