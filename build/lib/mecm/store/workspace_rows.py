"""The workspaces as listed (``mecm admin workspace list``, GET /admin/api/workspaces): one SQL
statement run through either a SQLAlchemy connection (store/admin.py) or the driver's own
(store/direct.py, the CLI's fast path), so both list the same keys in the same order.

No SQLAlchemy here: the fast path imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

# Every column of tables.workspaces, in its order, but the webhook secret (a secret) and id (shown
# as instance_id, first). A test checks this against tables.py: a new column must be added here.
COLUMNS = ("name", "timezone", "default_carrier", "created_at_ms", "status_callback_url", "pin_in_response",
           "archived_at_ms")
# Booleans that SQLite stores as 0 and 1.
BOOLEANS = frozenset({"pin_in_response"})


def list_sql(include_archived: bool) -> str:
    where = "" if include_archived else " WHERE archived_at_ms IS NULL"
    return f"SELECT id, {', '.join(COLUMNS)} FROM workspaces{where} ORDER BY id"


def list_workspaces(execute: Callable[[str], Iterable[Sequence[Any]]], include_archived: bool) -> list[dict[str, Any]]:
    """The workspaces (archived ones too with ``include_archived``), in id order; ``execute`` runs a
    statement of no parameters and gives its rows as tuples."""
    return [_shown(row) for row in execute(list_sql(include_archived))]


def _shown(row: Sequence[Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {"instance_id": row[0]}
    for column, value in zip(COLUMNS, row[1:], strict=True):
        shown[column] = bool(value) if column in BOOLEANS and value is not None else value
    return shown
