"""Short and long codes: assign one to a workspace, list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.errors import InvalidParameter
from mecm.services.admin.lookups import require_workspace
from mecm.store import admin as store_admin


def add_code(connection: Connection, workspace_id: int, code: str, is_default: bool = False) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    code = code.strip().lstrip("+")
    if not code.isdigit() or not 3 <= len(code) <= 15:
        raise InvalidParameter("code", "must be 3 to 15 digits")
    owner = store_admin.code_owner(connection, code)
    if owner is not None:
        raise InvalidParameter("code", f"already assigned to workspace {owner}")
    return store_admin.add_code(connection, workspace_id, code, is_default)


def list_codes(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_admin.list_codes(connection, workspace_id)
