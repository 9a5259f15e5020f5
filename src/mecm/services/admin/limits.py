"""Rate limits per workspace and key, by class, and the PIN-send guard (the SMS-pumping defence).
The limits' values are still checked in store/rate_limits.py (with domain/ratelimit.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
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
              rate: object, burst: object) -> dict[str, Any]:
    """The workspace's (or one of its keys') own limit for a class, replacing the one it had."""
    require_workspace(connection, workspace_id)
    return store_limits.set_limit(connection, workspace_id, public_key, limit_class, rate, burst)


def clear_limit(connection: Connection, workspace_id: int, public_key: str | None = None,
                limit_class: str | None = None) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    return store_limits.clear_limit(connection, workspace_id, public_key, limit_class)


def pin_guard(connection: Connection, workspace_id: int, settings: Settings) -> dict[str, Any]:
    """The limits in force for the workspace's PIN sends."""
    require_workspace(connection, workspace_id)
    return effective_policy(store_limits.pin_send_policy(connection, workspace_id), settings)


def set_pin_guard(connection: Connection, workspace_id: int, settings: Settings, *, per_number: object = None,
                  per_block: object = None, countries: str | None = None) -> dict[str, Any]:
    """The parts given change; the others keep what they were."""
    require_workspace(connection, workspace_id)
    row = store_limits.set_pin_send_policy(connection, workspace_id, per_number=per_number, per_block=per_block,
                                           countries=countries)
    return effective_policy(row, settings)


def clear_pin_guard(connection: Connection, workspace_id: int, settings: Settings) -> dict[str, Any]:
    """Back to the settings' defaults, and PINs to any country."""
    require_workspace(connection, workspace_id)
    return effective_policy(store_limits.clear_pin_send_policy(connection, workspace_id), settings)
