"""Users, their roles per workspace, and their personal tokens for the admin API.

Every change takes ``actor`` (who asks, as the audit log names them: services/admin/audit.py) and
writes an audit entry in its own transaction. Passwords and tokens are never in an answer or an
entry, except a new token in the answer of ``create_token`` (shown once; only its SHA-256 is kept).
Whether the actor may make the change is checked before (services/admin/access.py).

A password is hashed (argon2id, tens of milliseconds of CPU) by ``hash_password`` before the change's
transaction, by the CLI and the admin API alike: the use cases that store one take the hash, so no
write waits on it (the admin API's writes share one group-commit writer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection

from mecm.domain import credentials
from mecm.domain.key_expiry import parse_duration
from mecm.domain.roles import parse_role
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin.audit import iso, now_ms, record
from mecm.services.admin.lookups import require_workspace
from mecm.store import users as store_users

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@cache
def dummy_hash() -> str:
    return credentials.hash_password("no user has this password")


@dataclass(frozen=True)
class HashedPassword:
    """A password that passed the rules, as argon2id hashed it (never the password itself)."""

    value: str

    def __repr__(self) -> str:
        return "HashedPassword(...)"


def hash_password(password: str) -> HashedPassword:
    """Check the password's rules and hash it; call it before the transaction that stores it."""
    return HashedPassword(credentials.hash_password(password))


def _email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320 or not (email.isprintable() and email.isascii()):
        raise InvalidParameter("email", f"{raw!r} is not an e-mail address")
    return email


def require_user(connection: Connection, email: str) -> dict[str, Any]:
    row = store_users.user_by_email(connection, _email(email))
    if row is None:
        raise Unknown("email", "user", email.strip().lower())
    return row


def user_view(connection: Connection, row: dict[str, Any]) -> dict[str, Any]:
    roles = store_users.roles_of(connection, row["id"])
    return {"id": row["id"], "email": row["email"], "deployment_admin": bool(row["deployment_admin"]),
            "disabled": row["disabled_at_ms"] is not None, "created_at": iso(row["created_at_ms"]),
            "roles": {str(ws): role for ws, role in roles.items()}}


def add_user(connection: Connection, email: str, *, actor: str, password: HashedPassword | None = None,
             deployment_admin: bool = False) -> dict[str, Any]:
    """A new user; without a password they can only use personal tokens made for them."""
    address = _email(email)
    if store_users.user_by_email(connection, address) is not None:
        raise InvalidParameter("email", f"a user {address} exists already")
    user_id = store_users.insert_user(connection, address, password.value if password else None, deployment_admin,
                                      now_ms())
    view = user_view(connection, store_users.user_by_id(connection, user_id) or {})
    record(connection, actor, "user.add", f"user:{address}", after=view)
    return view


def list_users(connection: Connection) -> list[dict[str, Any]]:
    return [user_view(connection, row) for row in store_users.all_users(connection)]


def set_role(connection: Connection, email: str, workspace_id: int, role: str, *, actor: str) -> dict[str, Any]:
    user = require_user(connection, email)
    chosen = parse_role(role)
    require_workspace(connection, workspace_id)
    before = store_users.role_on(connection, user["id"], workspace_id)
    store_users.put_role(connection, user["id"], workspace_id, chosen.value)
    record(connection, actor, "role.set", f"user:{user['email']}", workspace_id=workspace_id,
           before={"role": before}, after={"role": chosen.value})
    return {"email": user["email"], "instance_id": workspace_id, "role": chosen.value}


def workspace_roles(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    """Who holds which role on the workspace."""
    require_workspace(connection, workspace_id)
    return [{"email": r["email"], "role": r["role"], "disabled": r["disabled_at_ms"] is not None}
            for r in store_users.roles_on_workspace(connection, workspace_id)]


def remove_role(connection: Connection, email: str, workspace_id: int, *, actor: str) -> dict[str, Any]:
    user = require_user(connection, email)
    require_workspace(connection, workspace_id)
    before = store_users.role_on(connection, user["id"], workspace_id)
    if before is None:
        raise InvalidParameter("workspace", f"{user['email']} has no role on workspace {workspace_id}")
    store_users.remove_role(connection, user["id"], workspace_id)
    record(connection, actor, "role.remove", f"user:{user['email']}", workspace_id=workspace_id,
           before={"role": before}, after={"role": None})
    return {"email": user["email"], "instance_id": workspace_id, "role": None}


def set_password(connection: Connection, email: str, password: HashedPassword, *, actor: str) -> dict[str, Any]:
    user = require_user(connection, email)
    store_users.set_password_hash(connection, user["id"], password.value)
    record(connection, actor, "user.password", f"user:{user['email']}")  # no hash in the entry, old or new
    return {"email": user["email"], "password_set": True}


def password_login(connection: Connection, email: str, password: str) -> dict[str, Any] | None:
    """The user whose e-mail and password these are (for the coming console's sign-in), or None: an
    unknown address, a wrong password, no password, or a disabled user alike."""
    try:
        user = store_users.user_by_email(connection, _email(email))
    except InvalidParameter:
        return None
    # An unknown user still costs one verification, so the time taken does not tell who exists.
    matches = credentials.password_matches((user or {}).get("password_hash") or dummy_hash(), password)
    if user is None or not matches or user["disabled_at_ms"] is not None:
        return None
    return user_view(connection, user)


def set_disabled(connection: Connection, email: str, disabled: bool, *, actor: str) -> dict[str, Any]:
    """A disabled user's tokens stop working at once; enabling them again gives the unexpired back."""
    user = require_user(connection, email)
    before = user_view(connection, user)
    store_users.set_disabled(connection, user["id"], now_ms() if disabled else None)
    after = user_view(connection, store_users.user_by_id(connection, user["id"]) or {})
    record(connection, actor, "user.disable" if disabled else "user.enable", f"user:{user['email']}",
           before=before, after=after)
    return after


def set_deployment_admin(connection: Connection, email: str, admin: bool, *, actor: str) -> dict[str, Any]:
    """Make the user a deployment administrator (every workspace, carriers, accounts, credit), or no
    longer one; refused when it would leave no enabled deployment administrator."""
    user = require_user(connection, email)
    before = user_view(connection, user)
    if before["deployment_admin"] == admin:
        return before
    if not admin and not before["disabled"] and store_users.deployment_admins(connection) <= 1:
        raise InvalidParameter("email", f"{user['email']} is the last deployment administrator: make another first")
    store_users.set_deployment_admin(connection, user["id"], admin)
    after = user_view(connection, store_users.user_by_id(connection, user["id"]) or {})
    record(connection, actor, "user.deployment_admin", f"user:{user['email']}",
           before={"deployment_admin": before["deployment_admin"]}, after={"deployment_admin": admin})
    return after


# -- personal tokens -------------------------------------------------------------------------------

def _token_view(row: dict[str, Any], email: str, now: int) -> dict[str, Any]:
    usable = credentials.token_usable(expires_at_ms=row["expires_at_ms"], revoked_at_ms=row["revoked_at_ms"],
                                      now_ms=now)
    return {"id": row["id"], "email": email, "name": row["name"], "scope": row["scope"],
            "created_at": iso(row["created_at_ms"]), "expires_at": iso(row["expires_at_ms"]),
            "revoked_at": iso(row["revoked_at_ms"]), "usable": usable}


def create_token(connection: Connection, email: str, *, actor: str, scope: str = "read", expires_in: str = "90d",
                 name: str = "", now: int | None = None) -> dict[str, Any]:
    """A new personal token; the answer's ``token`` is the only time it is shown."""
    user = require_user(connection, email)
    credentials.check_scope(scope)
    if len(name) > 100 or not name.isprintable():
        raise InvalidParameter("name", "at most 100 printable characters")
    at = now_ms() if now is None else now
    expires_at_ms = at + parse_duration(expires_in, "expires-in")
    token = credentials.new_token()
    token_id = store_users.insert_token(connection, user["id"], credentials.token_hash(token), name, scope, at,
                                        expires_at_ms)
    view = _token_view(store_users.token_by_id(connection, token_id) or {}, user["email"], at)
    record(connection, actor, "token.create", f"token:{token_id}", after=view)
    return {**view, "token": token}


def list_tokens(connection: Connection, email: str) -> list[dict[str, Any]]:
    user = require_user(connection, email)
    at = now_ms()
    return [_token_view(row, user["email"], at) for row in store_users.tokens_of(connection, user["id"])]


def revoke_token(connection: Connection, token_id: int, *, actor: str) -> dict[str, Any]:
    row = store_users.token_by_id(connection, token_id)
    if row is None:
        raise Unknown("id", "token", token_id)
    owner = store_users.user_by_id(connection, row["user_id"]) or {}
    at = now_ms()
    before = _token_view(row, owner.get("email", ""), at)
    store_users.revoke_token(connection, token_id, at)
    after = _token_view(store_users.token_by_id(connection, token_id) or {}, owner.get("email", ""), at)
    record(connection, actor, "token.revoke", f"token:{token_id}", before=before, after=after)
    return after
