"""Each workspace's time zone, for showing times as people read them (the CLI's tables)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from mecm.store.tables import workspaces


def workspace_time_zones(connection: Connection) -> dict[int, str]:
    """Workspace id -> IANA time zone name."""
    return {row.id: row.timezone for row in connection.execute(select(workspaces.c.id, workspaces.c.timezone))}
