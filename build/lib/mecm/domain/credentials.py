"""Passwords and personal tokens: how they are made, stored and checked.

Passwords are hashed with argon2id (argon2-cffi's defaults, salted, tuned to be slow). Tokens are
long random strings (256 bits), so one SHA-256 of them is enough at rest: nobody can guess through a
fast hash what has that much entropy, and a lookup by hash stays one indexed query. A token is shown
once, when made; only its hash is kept. ``mecm_`` marks a token so that a leaked one is recognisable.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mecm.errors import InvalidParameter

TOKEN_PREFIX = "mecm_"
SCOPES = ("read", "write")
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id, with the library's current recommended parameters


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidParameter("password", f"too short: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidParameter("password", "too long: at most 1024 characters")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise InvalidParameter("scope", f"{scope!r} is not a scope: read or write")
    return scope


def token_usable(*, expires_at_ms: int | None, revoked_at_ms: int | None, now_ms: int) -> bool:
    """A token works until it is revoked and until its expiry (exclusive)."""
    return revoked_at_ms is None and (expires_at_ms is None or now_ms < expires_at_ms)


def allows_scope(scope: str, *, writes: bool) -> bool:
    return scope == "write" or not writes
