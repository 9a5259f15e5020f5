"""Key pairs' life: created with an expiry, given another, rotated, listed with their last use.

Plain functions over a connection, shared by the CLI and the admin API. Each validates its input
and raises InvalidParameter naming the option before it writes anything. ``now_ms`` is passed in,
so tests choose the time. Dates in listings are written as the API writes them (SPEC section 4),
in the key's workspace's time zone.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from mecm.domain.dates import format_date
from mecm.domain.key_expiry import end_of_overlap, expiry_from, is_expired, parse_duration
from mecm.errors import InvalidParameter
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault
from mecm.store.tables import api_keys, workspaces


def create_key(connection: Connection, vault: Vault, workspace_id: int, now_ms: int, *,
               expires: str | None = None, expires_in: str | None = None) -> dict[str, Any]:
    """A new key pair of the workspace, with the expiry ``--expires`` or ``--expires-in`` give.
    The private key is in the answer, and nowhere else afterwards."""
    zone = _zone(connection, workspace_id)
    expires_at_ms = expiry_from(expires=expires, expires_in=expires_in, now_ms=now_ms, zone=zone, future_only=True)
    pair = store_admin.create_key(connection, vault, workspace_id, expires_at_ms=expires_at_ms)
    return {"instance_id": pair.workspace_id, "public_key": pair.public_key, "private_key": pair.private_key,
            "expires_at": _date(expires_at_ms, zone.key)}


def set_expiry(connection: Connection, public_key: str, now_ms: int, *, expires: str | None = None,
               expires_in: str | None = None, never: bool = False) -> dict[str, Any]:
    """Give an unrevoked key another expiry, or none (``never``). An instant already past is allowed:
    the key stops at once (within catalog_refresh_s), until a later set-expiry lifts it."""
    if never and (expires is not None or expires_in is not None):
        raise InvalidParameter("never", "cannot be given with expires or expires-in")
    if not never and expires is None and expires_in is None:
        raise InvalidParameter("expires", "missing: give expires, expires-in or never")
    key = _unrevoked(connection, public_key)
    zone = ZoneInfo(key.timezone)
    expires_at_ms = None if never else expiry_from(expires=expires, expires_in=expires_in, now_ms=now_ms,
                                                   zone=zone, future_only=False)
    connection.execute(update(api_keys).where(api_keys.c.id == key.id).values(expires_at_ms=expires_at_ms))
    return {"public_key": public_key, "expires_at": _date(expires_at_ms, key.timezone),
            "expired": is_expired(expires_at_ms, now_ms)}


def rotate_key(connection: Connection, vault: Vault, public_key: str, now_ms: int, *, overlap: str = "24h",
               expires: str | None = None, expires_in: str | None = None) -> dict[str, Any]:
    """A new key pair in the old key's workspace, working at once; the old key keeps working for
    ``overlap`` (``0``: revoked now), never longer than its own expiry already allowed."""
    overlap_ms = parse_duration(overlap, "overlap", allow_zero=True)
    old = _unrevoked(connection, public_key)
    new = create_key(connection, vault, old.workspace_id, now_ms, expires=expires, expires_in=expires_in)
    if overlap_ms == 0:
        connection.execute(update(api_keys).where(api_keys.c.id == old.id).values(revoked_at_ms=now_ms))
        old_expires_at_ms = old.expires_at_ms
    else:
        old_expires_at_ms = end_of_overlap(old.expires_at_ms, overlap_ms, now_ms)
        connection.execute(update(api_keys).where(api_keys.c.id == old.id).values(expires_at_ms=old_expires_at_ms))
    return {**new, "old_public_key": public_key, "old_revoked": overlap_ms == 0,
            "old_expires_at": _date(old_expires_at_ms, old.timezone)}


def record_last_used(connection: Connection, used: dict[str, int]) -> None:
    """One batched statement: each key's last use, unless the stored one is later (another API
    process flushed a later use first)."""
    if not used:
        return
    statement = (update(api_keys)
                 .where(api_keys.c.public_key == bindparam("key"),
                        or_(api_keys.c.last_used_at_ms.is_(None), api_keys.c.last_used_at_ms < bindparam("at")))
                 .values(last_used_at_ms=bindparam("at")))
    connection.execute(statement, [{"key": key, "at": at_ms} for key, at_ms in used.items()])


def list_keys(connection: Connection, now_ms: int, workspace_id: int | None = None) -> list[dict[str, Any]]:
    """Every key pair (of one workspace), oldest first: its state (active, expired or revoked) and
    its dates, written in its workspace's time zone (None where there is none)."""
    query = (select(api_keys, workspaces.c.timezone)
             .select_from(api_keys.join(workspaces, workspaces.c.id == api_keys.c.workspace_id))
             .order_by(api_keys.c.id))
    if workspace_id is not None:
        query = query.where(api_keys.c.workspace_id == workspace_id)
    rows = []
    for row in connection.execute(query):
        state = ("revoked" if row.revoked_at_ms is not None
                 else "expired" if is_expired(row.expires_at_ms, now_ms) else "active")
        rows.append({"workspace_id": row.workspace_id, "public_key": row.public_key, "state": state,
                     "created_at": _date(row.created_at_ms, row.timezone),
                     "expires_at": _date(row.expires_at_ms, row.timezone),
                     "last_used_at": _date(row.last_used_at_ms, row.timezone),
                     "revoked_at": _date(row.revoked_at_ms, row.timezone)})
    return rows


def key_exists(connection: Connection, public_key: str) -> bool:
    return connection.execute(select(api_keys.c.id).where(api_keys.c.public_key == public_key)).first() is not None


def _unrevoked(connection: Connection, public_key: str) -> Any:
    row = connection.execute(
        select(api_keys.c.id, api_keys.c.workspace_id, api_keys.c.expires_at_ms, workspaces.c.timezone)
        .select_from(api_keys.join(workspaces, workspaces.c.id == api_keys.c.workspace_id))
        .where(and_(api_keys.c.public_key == public_key, api_keys.c.revoked_at_ms.is_(None)))).first()
    if row is None:
        raise InvalidParameter("public-key", f"no unrevoked key {public_key!r}")
    return row


def _zone(connection: Connection, workspace_id: int) -> ZoneInfo:
    store_admin.require_workspace(connection, workspace_id)
    name = connection.execute(select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)).scalar_one()
    return ZoneInfo(name)


def _date(epoch_ms: int | None, timezone: str) -> str | None:
    return None if epoch_ms is None else format_date(epoch_ms, timezone)
