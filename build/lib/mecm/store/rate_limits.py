"""Rate limits and the SMS-pumping defence as stored: read into the catalog, set by the CLI and the
admin API (the same functions, so both refuse the same input with the same words)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from mecm.domain.pin_sends import check_count, parse_countries
from mecm.domain.ratelimit import Limit, parse_class, parse_limit
from mecm.errors import InvalidParameter
from mecm.store.admin import require_workspace
from mecm.store.tables import api_keys, pin_send_policies, rate_limits


@dataclass(frozen=True)
class PinSendOverrides:
    """A workspace's own PIN-send limits; None where it has the settings' default."""

    per_number: int | None = None
    per_block: int | None = None
    countries: frozenset[str] | None = None


# -- for the catalog ------------------------------------------------------------------------------


def load_rate_limits(connection: Connection) -> dict[tuple[int, str, str], Limit]:
    """(workspace id, public key or "" for the workspace, class) -> limit."""
    return {(row.workspace_id, row.public_key, row[2]): Limit(row.rate_per_s, row.burst)
            for row in connection.execute(select(rate_limits.c.workspace_id, rate_limits.c.public_key,
                                                 rate_limits.c["class"], rate_limits.c.rate_per_s,
                                                 rate_limits.c.burst))}


def load_pin_send_overrides(connection: Connection) -> dict[int, PinSendOverrides]:
    return {row.workspace_id: PinSendOverrides(row.per_number, row.per_block,
                                               None if row.countries is None else parse_countries(row.countries))
            for row in connection.execute(select(pin_send_policies))}


# -- administration -------------------------------------------------------------------------------


def _scope(connection: Connection, workspace_id: int, public_key: str | None) -> str:
    require_workspace(connection, workspace_id)
    if not public_key:
        return ""
    found = connection.execute(select(api_keys.c.id).where(
        api_keys.c.public_key == public_key, api_keys.c.workspace_id == workspace_id)).first()
    if found is None:
        raise InvalidParameter("key", f"no key {public_key} in workspace {workspace_id}")
    return public_key


def _limit_row(row: Any) -> dict[str, Any]:
    return {"instance_id": row.workspace_id, "key": row.public_key or None, "class": row[2],
            "rate_per_s": row.rate_per_s, "burst": row.burst}


def set_limit(connection: Connection, workspace_id: int, public_key: str | None, limit_class: str,
              rate: object, burst: object) -> dict[str, Any]:
    """Give the workspace (or one of its keys) a limit for a class; replaces the one it had."""
    cls = parse_class(limit_class)
    limit = parse_limit(rate, burst)
    scope = _scope(connection, workspace_id, public_key)
    key = {"workspace_id": workspace_id, "public_key": scope, "class": cls}
    connection.execute(delete(rate_limits).where(*(rate_limits.c[k] == v for k, v in key.items())))
    connection.execute(rate_limits.insert().values(**key, rate_per_s=limit.rate_per_s, burst=limit.burst,
                                                   updated_at_ms=int(time.time() * 1000)))
    return {"instance_id": workspace_id, "key": scope or None, "class": cls, "rate_per_s": limit.rate_per_s,
            "burst": limit.burst}


def list_limits(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    query = select(rate_limits.c.workspace_id, rate_limits.c.public_key, rate_limits.c["class"],
                   rate_limits.c.rate_per_s, rate_limits.c.burst)
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
        query = query.where(rate_limits.c.workspace_id == workspace_id)
    query = query.order_by(rate_limits.c.workspace_id, rate_limits.c.public_key, rate_limits.c["class"])
    return [_limit_row(row) for row in connection.execute(query)]


def clear_limit(connection: Connection, workspace_id: int, public_key: str | None,
                limit_class: str | None) -> dict[str, Any]:
    """Remove the limits set for the workspace (or one key), of one class or all; the workspace is
    then back to the settings' defaults, a key to its workspace's limit alone."""
    cls = parse_class(limit_class) if limit_class is not None else None
    scope = _scope(connection, workspace_id, public_key)
    where = [rate_limits.c.workspace_id == workspace_id, rate_limits.c.public_key == scope]
    if cls is not None:
        where.append(rate_limits.c["class"] == cls)
    removed = connection.execute(delete(rate_limits).where(*where)).rowcount
    return {"instance_id": workspace_id, "key": scope or None, "class": cls, "removed": removed}


def set_pin_send_policy(connection: Connection, workspace_id: int, *, per_number: object = None,
                        per_block: object = None, countries: str | None = None) -> dict[str, Any]:
    """Change the named parts of the workspace's PIN-send limits (None: leave that part as it is)."""
    require_workspace(connection, workspace_id)
    values: dict[str, Any] = {}
    if per_number is not None:
        values["per_number"] = check_count(per_number, "per-number")
    if per_block is not None:
        values["per_block"] = check_count(per_block, "per-block")
    if countries is not None:
        values["countries"] = ",".join(sorted(parse_countries(countries)))
    current = connection.execute(select(pin_send_policies).where(
        pin_send_policies.c.workspace_id == workspace_id)).first()
    if current is None:
        connection.execute(pin_send_policies.insert().values(workspace_id=workspace_id, **values))
    elif values:
        connection.execute(pin_send_policies.update().where(
            pin_send_policies.c.workspace_id == workspace_id).values(**values))
    return pin_send_policy(connection, workspace_id)


def clear_pin_send_policy(connection: Connection, workspace_id: int) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    connection.execute(delete(pin_send_policies).where(pin_send_policies.c.workspace_id == workspace_id))
    return pin_send_policy(connection, workspace_id)


def pin_send_policy(connection: Connection, workspace_id: int) -> dict[str, Any]:
    """The workspace's own settings; None where the server's default applies."""
    require_workspace(connection, workspace_id)
    row = connection.execute(select(pin_send_policies).where(
        pin_send_policies.c.workspace_id == workspace_id)).first()
    return {"instance_id": workspace_id,
            "per_number": row.per_number if row else None,
            "per_block": row.per_block if row else None,
            "countries": (row.countries.split(",") if row.countries else []) if row and row.countries is not None
            else None}
