"""Subscriber lists: create, list, add and remove members, import a CSV.

The list's name and a CSV's lines are still checked in store/lists.py; the workspace or list named
must exist (``Unknown`` otherwise) before they are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.services.admin.lookups import require_list, require_workspace
from mecm.store import lists as store_lists


def create_list(connection: Connection, workspace_id: int, name: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    return store_lists.create_list(connection, workspace_id, name)


def list_lists(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    require_workspace(connection, workspace_id)
    return store_lists.list_lists(connection, workspace_id)


def add_member(connection: Connection, list_id: int, number: str, *,
               fields: dict[str, str] | None = None) -> dict[str, Any]:
    require_list(connection, list_id)
    return store_lists.add_member(connection, list_id, number, fields=fields)


def remove_member(connection: Connection, list_id: int, number: str) -> dict[str, Any]:
    require_list(connection, list_id)
    return store_lists.remove_member(connection, list_id, number)


def import_csv(connection: Connection, list_id: int, content: str) -> dict[str, Any]:
    """Add members from a CSV's text: all or none (a bad line refuses it, naming the line)."""
    require_list(connection, list_id)
    return store_lists.import_csv(connection, list_id, content)
