"""Users, their roles per workspace and their personal tokens: SQL only (the rules are in
services/admin/users.py and domain/)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from mecm.store.tables import user_tokens, users, workspace_roles


def insert_user(connection: Connection, email: str, password_hash: str | None, deployment_admin: bool,
                now_ms: int) -> int:
    return connection.execute(insert(users).values(
        email=email, password_hash=password_hash, deployment_admin=deployment_admin, created_at_ms=now_ms,
    ).returning(users.c.id)).scalar_one()


def user_by_email(connection: Connection, email: str) -> dict[str, Any] | None:
    row = connection.execute(select(users).where(users.c.email == email)).mappings().first()
    return dict(row) if row else None


def user_by_id(connection: Connection, user_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(users).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row else None


def all_users(connection: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in connection.execute(select(users).order_by(users.c.id)).mappings()]


def set_password_hash(connection: Connection, user_id: int, password_hash: str) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def set_deployment_admin(connection: Connection, user_id: int, admin: bool) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(deployment_admin=admin))


def deployment_admins(connection: Connection) -> int:
    """How many enabled accounts are deployment administrators."""
    return connection.execute(select(func.count()).where(users.c.deployment_admin.is_(True),
                                                         users.c.disabled_at_ms.is_(None))).scalar_one()


def set_disabled(connection: Connection, user_id: int, at_ms: int | None) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(disabled_at_ms=at_ms))


def roles_of(connection: Connection, user_id: int) -> dict[int, str]:
    rows = connection.execute(select(workspace_roles.c.workspace_id, workspace_roles.c.role)
                              .where(workspace_roles.c.user_id == user_id)
                              .order_by(workspace_roles.c.workspace_id))
    return {workspace_id: role for workspace_id, role in rows}


def roles_on_workspace(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(select(users.c.email, workspace_roles.c.role, users.c.disabled_at_ms)
                              .join(users, users.c.id == workspace_roles.c.user_id)
                              .where(workspace_roles.c.workspace_id == workspace_id).order_by(users.c.email))
    return [dict(r) for r in rows.mappings()]


def role_on(connection: Connection, user_id: int, workspace_id: int) -> str | None:
    return connection.execute(select(workspace_roles.c.role).where(
        workspace_roles.c.user_id == user_id, workspace_roles.c.workspace_id == workspace_id)).scalar_one_or_none()


def put_role(connection: Connection, user_id: int, workspace_id: int, role: str) -> None:
    """Give the user ``role`` on the workspace (replacing another): delete then insert, the same on
    SQLite and PostgreSQL."""
    remove_role(connection, user_id, workspace_id)
    connection.execute(insert(workspace_roles).values(user_id=user_id, workspace_id=workspace_id, role=role))


def remove_role(connection: Connection, user_id: int, workspace_id: int) -> bool:
    return connection.execute(delete(workspace_roles).where(
        workspace_roles.c.user_id == user_id, workspace_roles.c.workspace_id == workspace_id)).rowcount > 0


def insert_token(connection: Connection, user_id: int, token_hash: str, name: str, scope: str, now_ms: int,
                 expires_at_ms: int | None) -> int:
    return connection.execute(insert(user_tokens).values(
        user_id=user_id, token_hash=token_hash, name=name, scope=scope, created_at_ms=now_ms,
        expires_at_ms=expires_at_ms,
    ).returning(user_tokens.c.id)).scalar_one()


def token_by_hash(connection: Connection, token_hash: str) -> dict[str, Any] | None:
    """The token with this hash and its user's e-mail, flag and disabled time."""
    query = (select(user_tokens, users.c.email, users.c.deployment_admin, users.c.disabled_at_ms)
             .join(users, users.c.id == user_tokens.c.user_id)
             .where(user_tokens.c.token_hash == token_hash))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def token_by_id(connection: Connection, token_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(user_tokens).where(user_tokens.c.id == token_id)).mappings().first()
    return dict(row) if row else None


def tokens_of(connection: Connection, user_id: int) -> list[dict[str, Any]]:
    """The user's tokens without their hashes."""
    columns = [c for c in user_tokens.c if c.name != "token_hash"]
    rows = connection.execute(select(*columns).where(user_tokens.c.user_id == user_id).order_by(user_tokens.c.id))
    return [dict(r) for r in rows.mappings()]


def revoke_token(connection: Connection, token_id: int, now_ms: int) -> None:
    connection.execute(update(user_tokens).where(user_tokens.c.id == token_id, user_tokens.c.revoked_at_ms.is_(None))
                       .values(revoked_at_ms=now_ms))


def set_totp(connection: Connection, user_id: int, secret_enc: str | None) -> None:
    """Two-factor sign-in on (an encrypted secret) or off (None)."""
    connection.execute(update(users).where(users.c.id == user_id).values(totp_secret=secret_enc, totp_last_step=None))


def use_totp_step(connection: Connection, user_id: int, step: int) -> bool:
    """Mark ``step`` used, if no later or equal one was: False when it was (a replayed code)."""
    newer = (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step)
    return bool(connection.execute(update(users).where(users.c.id == user_id, newer)
                                   .values(totp_last_step=step)).rowcount)
