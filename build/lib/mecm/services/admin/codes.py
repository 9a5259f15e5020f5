"""Short and long codes: assign one to a workspace, list them, remove one, make one the default.

A code is removed only while nothing uses it: an active campaign listening on it, or a broadcast
scheduled, sending or paused from it, is named in the refusal. Messages and MOs it carried keep it in
their history. Removing the workspace's default code leaves another of its codes (the oldest) in that
place; set-default chooses which.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin.audit import record
from mecm.services.admin.lookups import named, require_workspace
from mecm.store import admin as store_admin


def add_code(connection: Connection, workspace_id: int, code: str, is_default: bool = False, *,
             actor: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    code = code.strip().lstrip("+")
    if not code.isdigit() or not 3 <= len(code) <= 15:
        raise InvalidParameter("code", "must be 3 to 15 digits")
    owner = store_admin.code_owner(connection, code)
    if owner is not None:
        raise InvalidParameter("code", f"already assigned to workspace {owner}")
    default_before = _default_code(connection, workspace_id)
    row = store_admin.add_code(connection, workspace_id, code, is_default)
    record(connection, actor, "code.add", f"code:{code}", workspace_id=workspace_id,
           before={"default_code": default_before} if is_default else None,
           after={"code": code, "is_default": is_default, **({"default_code": code} if is_default else {})})
    return row


def list_codes(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_admin.list_codes(connection, workspace_id)


def remove_code(connection: Connection, code: str, *, actor: str) -> dict[str, Any]:
    """Free a code (refused, naming the user, while a campaign or broadcast uses it)."""
    code, owner = _assigned(connection, code)
    campaigns = store_admin.live_campaigns_listening(connection, code)
    if campaigns:
        raise InvalidParameter("code", f"code {code} is used by campaign {named(campaigns[0])}")
    busy = store_admin.unfinished_broadcasts(connection, code=code)
    if busy:
        raise InvalidParameter("code", f"code {code} is used by broadcast {named(busy[0])}, scheduled, sending or "
                                       "paused")
    was_default = _default_code(connection, owner) == code
    store_admin.remove_code(connection, code)
    record(connection, actor, "code.remove", f"code:{code}", workspace_id=owner,
           before={"code": code, "is_default": was_default}, after=None)
    return {"workspace_id": owner, "code": code, "removed": True}


def set_default_code(connection: Connection, code: str, *, actor: str) -> dict[str, Any]:
    """The code fireMessage GET receives on, in the code's workspace (its other codes stop being it)."""
    code, owner = _assigned(connection, code)
    before = _default_code(connection, owner)
    store_admin.set_default_code(connection, owner, code)
    if before != code:
        record(connection, actor, "code.default", f"code:{code}", workspace_id=owner,
               before={"default_code": before}, after={"default_code": code})
    return {"workspace_id": owner, "code": code, "is_default": True}


def _default_code(connection: Connection, workspace_id: int) -> str | None:
    """The code marked as the workspace's default, None when none is."""
    return next((c["code"] for c in store_admin.list_codes(connection, workspace_id) if c["is_default"]), None)


def _assigned(connection: Connection, raw: str) -> tuple[str, int]:
    """(the code as stored, its workspace); ``Unknown`` for a code no workspace has."""
    code = raw.strip().lstrip("+")
    # Only digits are codes: anything else (a NUL, which PostgreSQL refuses) names none.
    owner = store_admin.code_owner(connection, code) if code.isascii() and code.isdigit() and len(code) <= 15 \
        else None
    if owner is None:
        raise Unknown("code", "code", raw)
    return code, owner
