"""Opt-out administration: a workspace's STOP / START / HELP keywords and answers, and who is opted
out. The keywords and numbers are still checked in store/optouts.py (with domain/optout.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.optout import Intent
from mecm.services.admin.lookups import require_workspace
from mecm.store import optouts as store_optouts


def configure(connection: Connection, workspace_id: int, code: str, keywords: dict[Intent, str | None],
              texts: dict[Intent, str | None]) -> dict[str, Any]:
    """Set keywords and answers on one code ("" : all the workspace's); what is None is kept."""
    require_workspace(connection, workspace_id)
    return store_optouts.configure(connection, workspace_id, code, keywords, texts)


def describe_policy(connection: Connection, workspace_id: int, code: str = "") -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    return store_optouts.describe_policy(connection, workspace_id, code)


def set_opted_out(connection: Connection, workspace_id: int, number: str, *, opted_out: bool) -> dict[str, Any]:
    """Opt a subscriber out (or back in) as if they had sent STOP (START); no answer is sent."""
    require_workspace(connection, workspace_id)
    return store_optouts.set_by_admin(connection, workspace_id, number, opted_out=opted_out)


def list_opt_outs(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    require_workspace(connection, workspace_id)
    return store_optouts.list_opt_outs(connection, workspace_id)
