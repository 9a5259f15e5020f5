"""Rate limits per workspace and key, by class, and the PIN-send guard (the SMS-pumping defence).
The limits' values are still checked in store/rate_limits.py (with domain/ratelimit.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.services.admin.audit import changes, record
from mecm.services.admin.lookups import require_workspace
from mecm.services.pin_sends import effective_policy
from mecm.services.ratelimits import with_defaults
from mecm.store import rate_limits as store_limits


def list_limits(connection: Connection, workspace_id: int | None, settings: Settings) -> list[dict[str, Any]]:
    """The limits set; for one workspace, also the settings' defaults of the classes it has none of."""
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return with_defaults(store_limits.list_limits(connection, workspace_id), workspace_id, settings)


def set_limit(connection: Connection, workspace_id: int, public_key: str | None, limit_class: str,
              rate: object, burst: object, *, actor: str) -> dict[str, Any]:
    """The workspace's (or one of its keys') own limit for a class, replacing the one it had."""
    require_workspace(connection, workspace_id)
    before = store_limits.list_limits(connection, workspace_id)
    row = store_limits.set_limit(connection, workspace_id, public_key, limit_class, rate, burst)
    was = next((_values(r) for r in before if (r["key"], r["class"]) == (row["key"], row["class"])), None)
    if was != _values(row):
        record(connection, actor, "limit.set", _subject(row), workspace_id=workspace_id, before=was,
               after=_values(row))
    return row


def clear_limit(connection: Connection, workspace_id: int, public_key: str | None = None,
                limit_class: str | None = None, *, actor: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    before = store_limits.list_limits(connection, workspace_id)
    row = store_limits.clear_limit(connection, workspace_id, public_key, limit_class)
    if row["removed"]:  # clearing what was not set changes nothing
        gone = {r["class"]: _values(r) for r in before
                if r["key"] == row["key"] and row["class"] in (None, r["class"])}
        record(connection, actor, "limit.clear", _subject(row), workspace_id=workspace_id, before=gone,
               after=dict.fromkeys(gone))
    return row


def _subject(row: dict[str, Any]) -> str:
    """``workspace:3``, or ``key:<public key>`` for a key's own limits; the class follows (``/sends``)."""
    who = f"key:{row['key']}" if row["key"] else f"workspace:{row['instance_id']}"
    return who + (f"/{row['class']}" if row.get("class") else "")


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {"rate_per_s": row["rate_per_s"], "burst": row["burst"]}


def pin_guard(connection: Connection, workspace_id: int, settings: Settings) -> dict[str, Any]:
    """The limits in force for the workspace's PIN sends."""
    require_workspace(connection, workspace_id)
    return effective_policy(store_limits.pin_send_policy(connection, workspace_id), settings)


def set_pin_guard(connection: Connection, workspace_id: int, settings: Settings, *, actor: str,
                  per_number: object = None, per_block: object = None, countries: str | None = None) -> dict[str, Any]:
    """The parts given change; the others keep what they were."""
    require_workspace(connection, workspace_id)
    before = store_limits.pin_send_policy(connection, workspace_id)
    row = store_limits.set_pin_send_policy(connection, workspace_id, per_number=per_number, per_block=per_block,
                                           countries=countries)
    _record_pin_guard(connection, actor, "pin_guard.set", workspace_id, before, row)
    return effective_policy(row, settings)


def clear_pin_guard(connection: Connection, workspace_id: int, settings: Settings, *, actor: str) -> dict[str, Any]:
    """Back to the settings' defaults, and PINs to any country."""
    require_workspace(connection, workspace_id)
    before = store_limits.pin_send_policy(connection, workspace_id)
    row = store_limits.clear_pin_send_policy(connection, workspace_id)
    _record_pin_guard(connection, actor, "pin_guard.clear", workspace_id, before, row)
    return effective_policy(row, settings)


def _record_pin_guard(connection: Connection, actor: str, action: str, workspace_id: int,
                      before: dict[str, Any], after: dict[str, Any]) -> None:
    """The workspace's own PIN-guard values that changed (None: the settings' default applies)."""
    was, now = changes(before, after)
    if was or now:
        record(connection, actor, action, f"workspace:{workspace_id}", workspace_id=workspace_id, before=was,
               after=now)
