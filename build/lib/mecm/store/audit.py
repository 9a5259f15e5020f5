"""The audit log: one row per administrative change (SQL only; services/admin/audit.py writes it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from mecm.store.tables import audit_log


def insert_entry(connection: Connection, *, at_ms: int, actor: str, action: str, subject: str,
                 workspace_id: int | None, before: str | None, after: str | None) -> None:
    connection.execute(insert(audit_log).values(at_ms=at_ms, actor=actor, action=action, subject=subject,
                                                workspace_id=workspace_id, before=before, after=after))


def entries(connection: Connection, *, workspace_id: int | None = None, actor: str | None = None,
            action: str | None = None, action_prefix: str | None = None, since_ms: int | None = None,
            until_ms: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first (of one workspace, by one actor, of one action or of the actions
    starting with ``action_prefix``, from ``since_ms`` to ``until_ms`` included)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if workspace_id is not None:
        query = query.where(audit_log.c.workspace_id == workspace_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if action_prefix is not None:
        query = query.where(audit_log.c.action.startswith(action_prefix, autoescape=True))
    if since_ms is not None:
        query = query.where(audit_log.c.at_ms >= since_ms)
    if until_ms is not None:
        query = query.where(audit_log.c.at_ms <= until_ms)
    return [dict(r) for r in connection.execute(query).mappings()]
