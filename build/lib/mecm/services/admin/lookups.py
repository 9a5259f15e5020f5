"""Finding what an id names, refused as ``Unknown`` (the admin API's 404) when it names nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.errors import InvalidParameter, Unknown
from mecm.store import admin as store_admin
from mecm.store import broadcasts as store_broadcasts
from mecm.store import keys as store_keys
from mecm.store import lists as store_lists


def require_workspace(connection: Connection, workspace_id: int, param: str = "workspace") -> str:
    """The workspace's time zone."""
    timezone = store_admin.workspace_timezone(connection, workspace_id)
    if timezone is None:
        raise Unknown(param, "workspace", workspace_id)
    return timezone


def require_workspace_in_use(connection: Connection, workspace_id: int, doing: str,
                             param: str = "workspace") -> None:
    """Refuse a change ``doing`` (e.g. "creating a broadcast") in an archived workspace: it is kept as
    it was until restored (services/admin/workspaces.py)."""
    row = store_admin.workspace_row(connection, workspace_id)
    if row is None:
        raise Unknown(param, "workspace", workspace_id)
    if row["archived_at_ms"] is not None:
        raise InvalidParameter(param, f"workspace {workspace_id} ({row['name']}) is archived: restore it before "
                                      f"{doing}")


def require_list(connection: Connection, list_id: int, param: str = "list") -> Any:
    """The list's row."""
    row = store_lists.list_row(connection, list_id)
    if row is None:
        raise Unknown(param, "list", list_id)
    return row


def require_broadcast(connection: Connection, broadcast_id: int, param: str = "id") -> None:
    if not store_broadcasts.exists(connection, broadcast_id):
        raise Unknown(param, "broadcast", broadcast_id)


def require_key(connection: Connection, public_key: str, param: str = "public-key") -> str:
    """A key pair's public key (revoked ones too)."""
    # Public keys are short printable ASCII; anything else (a NUL, which PostgreSQL refuses) is no key.
    if not (len(public_key) <= 64 and public_key.isascii() and public_key.isprintable()) or \
            not store_keys.key_exists(connection, public_key):
        raise Unknown(param, "key", public_key)
    return public_key


def named(row: Any) -> str:
    """A row as a refusal names it: ``3 (promo)``, or ``3`` when it has no name."""
    return f"{row['id']} ({row['name']})" if row.get("name") else str(row["id"])
