"""The web console's sessions and failed sign-ins: SQL only (the rules are in
services/admin/sessions.py and domain/sign_in.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from mecm.store.tables import audit_log, console_sessions, sign_in_failures, users


def insert_session(connection: Connection, id_hash: str, user_id: int, csrf_token: str, now_ms: int,
                   expires_at_ms: int) -> None:
    connection.execute(insert(console_sessions).values(id_hash=id_hash, user_id=user_id, csrf_token=csrf_token,
                                                       created_at_ms=now_ms, expires_at_ms=expires_at_ms))


def session_with_user(connection: Connection, id_hash: str) -> dict[str, Any] | None:
    """The session and its user's e-mail, flag and state, or None."""
    query = (select(console_sessions, users.c.email, users.c.deployment_admin, users.c.disabled_at_ms,
                    users.c.totp_secret)
             .join(users, users.c.id == console_sessions.c.user_id)
             .where(console_sessions.c.id_hash == id_hash))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def delete_session(connection: Connection, id_hash: str) -> None:
    connection.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


def delete_sessions_of(connection: Connection, user_id: int) -> int:
    return connection.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id)).rowcount


def delete_expired_sessions(connection: Connection, now_ms: int) -> None:
    connection.execute(delete(console_sessions).where(console_sessions.c.expires_at_ms <= now_ms))


def failures_of(connection: Connection, email: str) -> tuple[int, int] | None:
    """(count, last failure's time) for the address, or None."""
    row = connection.execute(select(sign_in_failures.c.count, sign_in_failures.c.last_at_ms)
                             .where(sign_in_failures.c.email == email)).first()
    return (row[0], row[1]) if row else None


def put_failures(connection: Connection, email: str, count: int, last_at_ms: int) -> None:
    changed = connection.execute(update(sign_in_failures).where(sign_in_failures.c.email == email)
                                 .values(count=count, last_at_ms=last_at_ms)).rowcount
    if not changed:
        connection.execute(insert(sign_in_failures).values(email=email, count=count, last_at_ms=last_at_ms))


def clear_failures(connection: Connection, email: str) -> None:
    connection.execute(delete(sign_in_failures).where(sign_in_failures.c.email == email))


def last_sign_ins(connection: Connection) -> dict[str, int]:
    """``user:<email>`` -> when they last signed in to the console (the audit log's newest
    ``console.sign_in``: deployment-level entries, which its workspace index finds)."""
    query = (select(audit_log.c.subject, func.max(audit_log.c.at_ms))
             .where(audit_log.c.workspace_id.is_(None), audit_log.c.action == "console.sign_in")
             .group_by(audit_log.c.subject))
    return {subject: at for subject, at in connection.execute(query)}


def open_sessions_by_user(connection: Connection, now_ms: int) -> dict[int, int]:
    query = (select(console_sessions.c.user_id, func.count())
             .where(console_sessions.c.expires_at_ms > now_ms).group_by(console_sessions.c.user_id))
    return {user_id: count for user_id, count in connection.execute(query)}
