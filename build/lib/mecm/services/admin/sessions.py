"""Signing in to the web console: the throttle per address, sessions, signing out (here or everywhere).

A sign-in is three steps, so that the slow password check (argon2id, tens of milliseconds) never
runs inside a write transaction, where it would hold up every other write:

1. ``claim_attempt`` (a write): the address's throttle (domain/sign_in.py) says whether it may try
   now. If it may, the try is counted as a failure *before* its password is checked, so that tries
   sent side by side cannot all slip through one free moment: the second one already waits.
2. the password is checked, outside any transaction (``check_password``, run in a thread);
3. ``open_session`` (a write) on success: a user with two-factor sign-in must also give the code
   their authenticator shows (domain/totp.py, a code not used before); then the count is cleared
   and a session made. A failure leaves the count that step 1 wrote.

A session is a random value in the browser's cookie; only its SHA-256 is stored, with the session's
CSRF token (shown in each form; a POST without it is refused) and its expiry. Signing out deletes
the session; signing out everywhere deletes all of the user's; a disabled user's sessions open nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.domain import credentials, totp
from mecm.domain import sign_in as throttle
from mecm.errors import InvalidParameter
from mecm.services.admin.audit import record
from mecm.services.admin.users import dummy_hash, require_user
from mecm.store import console as store_console
from mecm.store import users as store_users
from mecm.store.crypto import Vault

SESSION_MS = 12 * 60 * 60 * 1000  # a session lasts a working day, then the user signs in again
WRONG = "wrong e-mail address or password"
CODE_NEEDED = "this account signs in with a two-factor code too: enter the one your authenticator app shows"
CODE_WRONG = "wrong two-factor code, or one used already: enter the one your authenticator app shows now"


@dataclass(frozen=True)
class Session:
    """A signed-in user, as a console request sees them."""

    user_id: int
    email: str
    deployment_admin: bool
    csrf_token: str
    roles: dict[int, str]  # workspace id -> role
    two_factor: bool = False  # signs in with a TOTP code too

    @property
    def actor(self) -> str:
        return f"user:{self.email}"


@dataclass(frozen=True)
class Attempt:
    """What step 1 decided: ``locked_s`` > 0 refuses the try; else ``failures`` counts it already."""

    email: str
    locked_s: int = 0
    failures: int = 0

    @property
    def answer_delay_s(self) -> float:
        """How long to wait before answering this try if it fails (domain/sign_in.py)."""
        return throttle.answer_delay_ms(self.failures) / 1000


def normalized(email: str) -> str:
    return email.strip().lower()[:320]


def claim_attempt(connection: Connection, email: str, now_ms: int) -> Attempt:
    address = normalized(email)
    found = store_console.failures_of(connection, address)
    failures = throttle.Failures(*found) if found else None
    locked = throttle.locked_for_ms(failures, now_ms)
    if locked > 0:
        return Attempt(address, locked_s=-(-locked // 1000))
    counted = throttle.after_failure(failures, now_ms)
    store_console.put_failures(connection, address, counted.count, counted.last_at_ms)
    return Attempt(address, failures=counted.count)


def password_hash_for(connection: Connection, email: str) -> tuple[int | None, str]:
    """The user id (None: no such user, or disabled) and the hash to check a password against: a
    dummy one for an unknown address, so that the check takes as long as for a real one."""
    user = store_users.user_by_email(connection, normalized(email))
    if user is None or user["disabled_at_ms"] is not None or not user["password_hash"]:
        return None, dummy_hash()
    return user["id"], user["password_hash"]


def check_password(user_id: int | None, stored_hash: str, password: str) -> bool:
    """Step 2 (slow: run it in a thread). False for an unknown user whatever the password."""
    return credentials.password_matches(stored_hash, password) and user_id is not None


def open_session(connection: Connection, user_id: int, now_ms: int, *, vault: Vault,
                 code: str = "") -> tuple[str, Session] | str | None:
    """Step 3: the cookie's value and the session; CODE_NEEDED or CODE_WRONG when the user has
    two-factor sign-in and the code is missing or not right; None if the user was disabled meanwhile."""
    user = store_users.user_by_id(connection, user_id)
    if user is None or user["disabled_at_ms"] is not None:
        return None
    if user["totp_secret"] is not None:
        if not code.strip():
            return CODE_NEEDED
        step = totp.matching_step(vault.decrypt(user["totp_secret"]), code, now_ms / 1000, user["totp_last_step"])
        if step is None or not store_users.use_totp_step(connection, user_id, step):
            return CODE_WRONG
    store_console.clear_failures(connection, user["email"])
    store_console.delete_expired_sessions(connection, now_ms)
    value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    store_console.insert_session(connection, credentials.token_hash(value), user_id, csrf_token, now_ms,
                                 now_ms + SESSION_MS)
    record(connection, f"user:{user['email']}", "console.sign_in", f"user:{user['email']}")
    return value, _session(connection, user_id, user["email"], bool(user["deployment_admin"]), csrf_token,
                           user["totp_secret"] is not None)


def start_two_factor(session: Session) -> tuple[str, str]:
    """A new secret for the user to put in their authenticator, and its otpauth:// address; nothing is
    stored until ``enable_two_factor`` has a code made from it."""
    secret = totp.new_secret()
    return secret, totp.provisioning_uri(secret, session.email)


def enable_two_factor(connection: Connection, session: Session, secret: str, code: str, now_ms: int, *,
                      vault: Vault) -> None:
    """Two-factor sign-in from now on, once ``code`` shows the authenticator has ``secret``."""
    try:
        step = totp.matching_step(secret, code, now_ms / 1000, None)
    except ValueError:  # not base32: the form was tampered with
        step = None
    if step is None:
        raise InvalidParameter("code", "not the code for this key: check the key was typed or scanned, "
                                       "and the phone's clock")
    store_users.set_totp(connection, session.user_id, vault.encrypt(secret))
    store_users.use_totp_step(connection, session.user_id, step)
    record(connection, session.actor, "user.two_factor.on", session.actor)


def disable_two_factor(connection: Connection, session: Session, code: str, now_ms: int, *, vault: Vault) -> None:
    """Two-factor sign-in off, on a current code (a session left open cannot turn it off alone)."""
    user = store_users.user_by_id(connection, session.user_id)
    if user is None or user["totp_secret"] is None:
        return
    step = totp.matching_step(vault.decrypt(user["totp_secret"]), code, now_ms / 1000, user["totp_last_step"])
    if step is None or not store_users.use_totp_step(connection, session.user_id, step):
        raise InvalidParameter("code", "wrong two-factor code, or one used already")
    store_users.set_totp(connection, session.user_id, None)
    record(connection, session.actor, "user.two_factor.off", session.actor)


def session_of(connection: Connection, value: str, now_ms: int) -> Session | None:
    """The session a cookie's value opens, or None (unknown, expired, or its user disabled)."""
    if not value or len(value) > 100:
        return None
    row = store_console.session_with_user(connection, credentials.token_hash(value))
    if row is None or row["expires_at_ms"] <= now_ms or row["disabled_at_ms"] is not None:
        return None
    return _session(connection, row["user_id"], row["email"], bool(row["deployment_admin"]), row["csrf_token"],
                    row["totp_secret"] is not None)


def _session(connection: Connection, user_id: int, email: str, deployment_admin: bool, csrf_token: str,
             two_factor: bool) -> Session:
    return Session(user_id, email, deployment_admin, csrf_token, store_users.roles_of(connection, user_id),
                   two_factor)


def close_session(connection: Connection, value: str) -> None:
    store_console.delete_session(connection, credentials.token_hash(value))


def close_all_sessions(connection: Connection, session: Session) -> dict[str, Any]:
    closed = store_console.delete_sessions_of(connection, session.user_id)
    record(connection, session.actor, "console.sign_out_everywhere", session.actor, after={"sessions": closed})
    return {"sessions_closed": closed}


def end_sessions_of(connection: Connection, email: str, *, actor: str) -> int:
    """End every console session of the user (disabled, or given a new password, by an administrator):
    enabling them again later does not bring an old session back."""
    user = require_user(connection, email)
    closed = store_console.delete_sessions_of(connection, user["id"])
    if closed:
        record(connection, actor, "console.sessions_ended", f"user:{user['email']}", after={"sessions": closed})
    return closed


def sign_in_states(connection: Connection, now_ms: int) -> dict[int, dict[str, Any]]:
    """Per user id, what the accounts page shows of their signing in: ``two_factor`` (on or off),
    ``last_sign_in_ms`` (the newest ``console.sign_in`` of the audit log, or None) and
    ``open_sessions``. Read in two grouped queries, whatever the number of users: the sign-ins are
    deployment-level entries (no workspace), which the audit log's workspace index finds."""
    last = store_console.last_sign_ins(connection)
    open_sessions = store_console.open_sessions_by_user(connection, now_ms)
    return {row["id"]: {"two_factor": row["totp_secret"] is not None,
                        "last_sign_in_ms": last.get(f"user:{row['email']}"),
                        "open_sessions": open_sessions.get(row["id"], 0)}
            for row in store_users.all_users(connection)}
