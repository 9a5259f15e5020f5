"""Broadcasts: one text to every member of a list; create, list, follow, cancel.

The text, code and carrier are still checked in store/broadcasts.py; the list or broadcast named
must exist (``Unknown`` otherwise) before they are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.services.admin.lookups import require_broadcast, require_list, require_workspace
from mecm.services.admin.workspaces import parse_when
from mecm.store import broadcasts as store_broadcasts


def create_broadcast(connection: Connection, list_id: int, code: str, text: str, *, name: str = "",
                     at: str | None = None, carrier: str | None = None,
                     quiet_hours: str | None = None) -> dict[str, Any]:
    """``at``: when to start (ISO 8601; without an offset, in the workspace's zone); None: now."""
    listed = require_list(connection, list_id)
    when = parse_when(connection, listed.workspace_id, at, "at")
    return store_broadcasts.create(connection, list_id, code, text, name=name, scheduled_at_ms=when,
                                   carrier=carrier, quiet_hours=quiet_hours)


def list_broadcasts(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_broadcasts.list_broadcasts(connection, workspace_id)


def broadcast_status(connection: Connection, broadcast_id: int) -> dict[str, Any]:
    require_broadcast(connection, broadcast_id)
    return store_broadcasts.status(connection, broadcast_id)


def cancel_broadcast(connection: Connection, broadcast_id: int) -> dict[str, Any]:
    """Stop queueing; messages still waiting become NOT_SENT ("Broadcast cancelled")."""
    require_broadcast(connection, broadcast_id)
    return store_broadcasts.cancel(connection, broadcast_id)
