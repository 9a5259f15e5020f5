"""The statements behind multi-part MO reassembly (services/mo_parts.py), in one place.

A group is one message's parts: the same carrier, sender, destination, reference and total. A part
is kept once (a repeated part is ignored); ``take`` deletes a group and says how many parts it
deleted, so the transaction that stores the whole MO can tell it was the first to do so.
Each function runs inside the caller's transaction.

A part's text is kept as a JSON string: a UCS-2 part may end in half of a surrogate pair (joined
with its other half only when the parts are), which a UTF-8 column cannot hold.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

GROUP_COLUMNS = ("carrier", "source", "destination", "reference", "total")

_ADD = text(
    """
    INSERT INTO mo_parts (carrier, source, destination, reference, total, seq, text, received_at_ms, expires_at_ms)
    VALUES (:carrier, :source, :destination, :reference, :total, :seq, :text, :received_at_ms, :expires_at_ms)
    ON CONFLICT (carrier, source, destination, reference, total, seq) DO NOTHING
    """
)
_GROUP_WHERE = """
     WHERE carrier = :carrier AND source = :source AND destination = :destination
       AND reference = :reference AND total = :total
"""
_TEXTS = text("SELECT text FROM mo_parts" + _GROUP_WHERE + " ORDER BY seq")
_TAKE = text("DELETE FROM mo_parts" + _GROUP_WHERE)
_OVERDUE = text(
    """
    SELECT carrier, source, destination, reference, total FROM mo_parts
     GROUP BY carrier, source, destination, reference, total
    HAVING MIN(expires_at_ms) <= :now
     LIMIT :limit
    """
)


def add(connection: Connection, part: dict[str, Any]) -> list[str] | None:
    """Keep ``part``; when it completes its group, the group's texts in order (else None)."""
    connection.execute(_ADD, {**part, "text": json.dumps(part["text"])})
    found = texts(connection, group_of(part))
    return found if len(found) >= part["total"] else None


def texts(connection: Connection, group: dict[str, Any]) -> list[str]:
    """The texts of the group's parts, in order."""
    return [json.loads(stored) for stored in connection.execute(_TEXTS, group).scalars()]


def take(connection: Connection, group: dict[str, Any]) -> int:
    """Delete the group's parts; how many there were (0: another transaction took them). The caller
    compares it with the parts it read and rolls back when they differ."""
    return connection.execute(_TAKE, group).rowcount


def overdue(connection: Connection, now_ms: int, limit: int = 1000) -> list[dict[str, Any]]:
    """Groups whose first part's wait for the others ended by ``now_ms``."""
    return [dict(row._mapping) for row in connection.execute(_OVERDUE, {"now": now_ms, "limit": limit})]


def group_of(part: dict[str, Any]) -> dict[str, Any]:
    return {name: part[name] for name in GROUP_COLUMNS}
