"""Opt-out administration: a workspace's STOP / START / HELP keywords and answers, and who is opted
out. The keywords and numbers are still checked in store/optouts.py (with domain/optout.py).

Each change is in the audit log (optout.configure, optout.add, optout.remove). A number opted out or
back in here is honoured by the running server's next send: the caller announces it after the commit
(the CLI through the file beside a SQLite database, store/optout_signal.py; the admin API refreshes
its own view, services/optouts.py; on PostgreSQL every send reads the database anyway).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from mecm.domain.dates import format_date
from mecm.domain.optout import Intent
from mecm.errors import InvalidParameter
from mecm.services.admin import audit
from mecm.services.admin.lookups import require_workspace
from mecm.store import optouts as store_optouts

MAX_PAGE = 1000
_WRITTEN = re.compile(r"[\s.()\-]")  # what people put between digits ("+58 414-555")


def configure(connection: Connection, workspace_id: int, code: str, keywords: dict[Intent, str | None],
              texts: dict[Intent, str | None], *, actor: str) -> dict[str, Any]:
    """Set keywords and answers on one code ("" : all the workspace's); what is None is kept."""
    require_workspace(connection, workspace_id)
    before = store_optouts.describe_policy(connection, workspace_id, code)
    after = store_optouts.configure(connection, workspace_id, code, keywords, texts)
    audit.record(connection, actor, "optout.configure", f"optout-policy:{workspace_id}" + (f":{code}" if code else ""),
                 workspace_id=workspace_id, before=before, after=after)
    return after


def describe_policy(connection: Connection, workspace_id: int, code: str = "") -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    return store_optouts.describe_policy(connection, workspace_id, code)


def set_opted_out(connection: Connection, workspace_id: int, number: str, *, opted_out: bool,
                  actor: str) -> dict[str, Any]:
    """Opt a subscriber out (or back in) as if they had sent STOP (START); no answer is sent. A number
    already so changes nothing and writes no audit entry (``changed`` false)."""
    require_workspace(connection, workspace_id)
    row = store_optouts.set_by_admin(connection, workspace_id, number, opted_out=opted_out)
    if row["changed"]:
        audit.record(connection, actor, "optout.add" if opted_out else "optout.remove", f"number:{row['number']}",
                     workspace_id=workspace_id, before={"opted_out": not opted_out}, after={"opted_out": opted_out})
    return row


def list_opt_outs(connection: Connection, workspace_id: int, *, number: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    """A page of the workspace's opted-out numbers, oldest first (``offset`` rows skipped); ``number``:
    only those containing these digits. Each with when, in ISO 8601 in the workspace's zone."""
    zone = require_workspace(connection, workspace_id)
    digits = None
    if number is not None:
        digits = _WRITTEN.sub("", number).lstrip("+")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
            raise InvalidParameter("number", f"{number!r} is not (part of) a phone number: up to 20 digits")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_PAGE}")
    if not 0 <= offset <= 10**9:
        raise InvalidParameter("offset", "must be 0 or more")
    rows = store_optouts.list_opt_outs(connection, workspace_id, number=digits, limit=limit, offset=offset)
    return [{**row, "opted_out_at": format_date(row["opted_out_at_ms"], zone)} for row in rows]
