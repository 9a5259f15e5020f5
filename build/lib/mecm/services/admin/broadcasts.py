"""Broadcasts: one text to every member of a list; create, list, follow, pause, resume, cancel.

Every change writes an audit entry (services/admin/audit.py) in its own transaction, with the actor.
A broadcast is not created, nor resumed, in an archived workspace. Pausing stops the worker queueing
members and holds the messages already queued (domain/broadcast_state.py); resuming carries on from
where it stopped: no member is sent it twice, none is left out. A broadcast that is done or
cancelled is neither paused nor resumed.

The text, code and carrier are still checked in store/broadcasts.py; the list or broadcast named
must exist (``Unknown`` otherwise) before they are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.broadcast_state import pause_refusal, resume_refusal, resumed_state, shown_state
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin.audit import now_ms, record
from mecm.services.admin.lookups import named, require_broadcast, require_list, require_workspace
from mecm.services.admin.lookups import require_workspace_in_use
from mecm.services.admin.workspaces import parse_when
from mecm.store import broadcasts as store_broadcasts


def create_broadcast(connection: Connection, list_id: int, code: str, text: str, *, actor: str, name: str = "",
                     at: str | None = None, carrier: str | None = None,
                     quiet_hours: str | None = None) -> dict[str, Any]:
    """``at``: when to start (ISO 8601; without an offset, in the workspace's zone); None: now."""
    listed = require_list(connection, list_id)
    require_workspace_in_use(connection, listed.workspace_id, "creating a broadcast")
    when = parse_when(connection, listed.workspace_id, at, "at")
    row = store_broadcasts.create(connection, list_id, code, text, name=name, scheduled_at_ms=when,
                                  carrier=carrier, quiet_hours=quiet_hours)
    record(connection, actor, "broadcast.create", _subject(row["id"]), workspace_id=listed.workspace_id,
           after={k: row[k] for k in ("id", "name", "list_id", "code", "carrier", "text", "quiet_hours",
                                      "scheduled_at_ms", "members")})
    return row


def list_broadcasts(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_broadcasts.list_broadcasts(connection, workspace_id)


def broadcast_status(connection: Connection, broadcast_id: int) -> dict[str, Any]:
    require_broadcast(connection, broadcast_id)
    return store_broadcasts.status(connection, broadcast_id)


def pause_broadcast(connection: Connection, broadcast_id: int, *, actor: str) -> dict[str, Any]:
    """Nothing more is queued or handed to a carrier (a submit already under way finishes) until it is
    resumed; ``held``: its messages that were waiting, held for the resume."""
    row, shown = _stored(connection, broadcast_id)
    refusal = pause_refusal(row["state"], _waiting(connection, row))
    if refusal:
        raise InvalidParameter("id", f"broadcast {named(row)} {refusal}")
    held = store_broadcasts.pause(connection, broadcast_id)
    if held is None:  # its state changed since it was read (PostgreSQL: a worker's page, a cancel)
        raise InvalidParameter("id", f"broadcast {named(row)} changed meanwhile: try again")
    record(connection, actor, "broadcast.pause", _subject(broadcast_id), workspace_id=row["workspace_id"],
           before={"state": shown}, after={"state": "paused", "held": held})
    return {"id": broadcast_id, "state": "paused", "held": held}


def resume_broadcast(connection: Connection, broadcast_id: int, *, actor: str) -> dict[str, Any]:
    """Carry on where it stopped: its held messages are due again, and the worker queues the members
    not queued yet; ``released``: the held messages."""
    row, shown = _stored(connection, broadcast_id)
    refusal = resume_refusal(row["state"], _waiting(connection, row))
    if refusal:
        raise InvalidParameter("id", f"broadcast {named(row)} {refusal}")
    require_workspace_in_use(connection, row["workspace_id"], "resuming a broadcast")
    state = resumed_state(row["cursor"], row["finished_at_ms"])
    released = store_broadcasts.resume(connection, broadcast_id, state, now_ms())
    if released is None:
        raise InvalidParameter("id", f"broadcast {named(row)} changed meanwhile: try again")
    now_shown = store_broadcasts.status(connection, broadcast_id)["state"]
    record(connection, actor, "broadcast.resume", _subject(broadcast_id), workspace_id=row["workspace_id"],
           before={"state": shown}, after={"state": now_shown, "released": released})
    return {"id": broadcast_id, "state": now_shown, "released": released}


def cancel_broadcast(connection: Connection, broadcast_id: int, *, actor: str) -> dict[str, Any]:
    """Stop queueing; messages still waiting (held ones too) become NOT_SENT ("Broadcast cancelled")."""
    row, shown = _stored(connection, broadcast_id)
    result = store_broadcasts.cancel(connection, broadcast_id)
    record(connection, actor, "broadcast.cancel", _subject(broadcast_id), workspace_id=row["workspace_id"],
           before={"state": shown}, after={"state": "cancelled", "withdrawn": result["withdrawn"]})
    return result


def _stored(connection: Connection, broadcast_id: int) -> tuple[dict[str, Any], str]:
    """The broadcast's stored row and the state shown for it; ``Unknown`` when there is none."""
    row = store_broadcasts.broadcast_row(connection, broadcast_id)
    if row is None:
        raise Unknown("id", "broadcast", broadcast_id)
    return row, shown_state(row["state"], _waiting(connection, row))


def _waiting(connection: Connection, row: dict[str, Any]) -> int:
    return store_broadcasts.waiting(connection, row["id"]) if row["state"] == "queued" else 0


def _subject(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"
