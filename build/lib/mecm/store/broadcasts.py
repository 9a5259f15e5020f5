"""Broadcasts: created by an admin, turned into messages a page at a time by the worker; paused and
resumed (domain/broadcast_state.py says how a pause holds the messages already queued)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select, text, update

from mecm.domain.broadcast_state import HELD_MS, PAUSABLE_STATES, UNFINISHED_STATES, is_done, shown_state
from mecm.domain.quiet import parse_quiet_hours
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter
from mecm.store.admin import require_code_of
from mecm.store.credit import refund_unsent
from mecm.store.lists import count as count_members, require_list
from mecm.store.tables import broadcasts, carriers, messages

SENDING_STATES = ("scheduled", "sending")


def create(connection: Connection, list_id: int, code: str, text_: str, *, name: str = "",
           scheduled_at_ms: int | None = None, carrier: str | None = None,
           quiet_hours: str | None = None) -> dict[str, Any]:
    listed = require_list(connection, list_id)
    require_code_of(connection, listed.workspace_id, code)
    if not text_.strip():
        raise InvalidParameter("text", "empty")
    check_text(text_, "text")
    if carrier is not None and connection.execute(select(carriers.c.id).where(carriers.c.name == carrier)).first() \
            is None:
        raise InvalidParameter("carrier", f"no carrier named {carrier!r}")
    now = _now_ms()
    row = {
        "workspace_id": listed.workspace_id, "list_id": list_id, "name": name or f"broadcast to {listed.name}",
        "code": code, "carrier": carrier, "text": text_,
        "quiet_hours": parse_quiet_hours(quiet_hours) if quiet_hours else None,
        "state": "scheduled", "scheduled_at_ms": scheduled_at_ms or now, "cursor": "", "enqueued": 0,
        "skipped": 0, "unsendable": 0, "created_at_ms": now, "finished_at_ms": None,
    }
    broadcast_id = connection.execute(broadcasts.insert().values(row)).inserted_primary_key[0]
    return {"id": broadcast_id, **row, "members": count_members(connection, list_id)}


def exists(connection: Connection, broadcast_id: int) -> bool:
    return connection.execute(select(broadcasts.c.id).where(broadcasts.c.id == broadcast_id)).first() is not None


def broadcast_row(connection: Connection, broadcast_id: int) -> dict[str, Any] | None:
    """The broadcast's stored row (None: no such broadcast)."""
    row = connection.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)).mappings().first()
    return None if row is None else dict(row)


def unfinished_of_list(connection: Connection, list_id: int) -> list[dict[str, Any]]:
    """The list's broadcasts that will still read it (scheduled, sending or paused): id, name, state."""
    query = (select(broadcasts.c.id, broadcasts.c.name, broadcasts.c.state)
             .where(broadcasts.c.list_id == list_id, broadcasts.c.state.in_(UNFINISHED_STATES))
             .order_by(broadcasts.c.id))
    return [dict(r) for r in connection.execute(query).mappings()]


def due(connection: Connection, now_ms: int) -> list[Any]:
    query = (select(broadcasts).where(broadcasts.c.state.in_(SENDING_STATES),
                                      broadcasts.c.scheduled_at_ms <= now_ms).order_by(broadcasts.c.id))
    return list(connection.execute(query))


_OPTED_OUT_AMONG = {
    "sqlite": text("SELECT subscriber FROM opt_outs WHERE workspace_id = :workspace"
                   " AND subscriber IN (SELECT value FROM json_each(:numbers))"),
    "postgresql": text("SELECT subscriber FROM opt_outs WHERE workspace_id = :workspace"
                       " AND subscriber IN (SELECT json_array_elements_text(CAST(:numbers AS json)))"),
}


def opted_out_among(connection: Connection, workspace_id: int, numbers_json: str) -> set[str]:
    statement = _OPTED_OUT_AMONG[connection.dialect.name]
    return {row[0] for row in connection.execute(statement, {"workspace": workspace_id, "numbers": numbers_json})}


# "+broadcast_id": the unary plus keeps the planner off the (broadcast_id, recipient) index, which
# would visit every message the broadcast ever queued; the queue index visits only those waiting.
_WAITING = text("SELECT COUNT(*) FROM messages WHERE status IN ('PENDING', 'SENDING') AND +broadcast_id = :id")


def waiting(connection: Connection, broadcast_id: int) -> int:
    """Its messages not yet handed to a carrier."""
    return connection.execute(_WAITING, {"id": broadcast_id}).scalar_one()


def record_page(connection: Connection, broadcast_id: int, after: str, new_cursor: str,
                rows: list[dict[str, Any]], skipped: int, last: bool, now_ms: int, unsendable: int = 0) -> bool:
    """Queue a page's messages and move the cursor, in one transaction; False (nothing written)
    when the cursor moved meanwhile or the broadcast was cancelled."""
    moved = connection.execute(
        update(broadcasts)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.cursor == after, broadcasts.c.state.in_(SENDING_STATES))
        .values(cursor=new_cursor, enqueued=broadcasts.c.enqueued + len(rows), skipped=broadcasts.c.skipped + skipped,
                unsendable=broadcasts.c.unsendable + unsendable,
                # "queued": every member queued; shown as sending, then done (domain/broadcast_state.py)
                state="queued" if last else "sending", finished_at_ms=now_ms if last else None)
    ).rowcount
    if not moved:
        return False
    if rows:
        connection.execute(messages.insert(), rows)
    return True


_PROGRESS = text(
    """
    SELECT status, COUNT(*) FROM messages WHERE broadcast_id = :id GROUP BY status
    """
)
_FAILED = ("UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO", "BAD_CARRIER",
           "NOT_ENOUGH_FUNDS")


def status(connection: Connection, broadcast_id: int) -> dict[str, Any]:
    row = connection.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)).mappings().first()
    if row is None:
        raise InvalidParameter("id", f"no broadcast {broadcast_id}")
    by_status = {status_: n for status_, n in connection.execute(_PROGRESS, {"id": broadcast_id})}
    delivered = by_status.get("DELIVERED_TO_DEVICE", 0)
    failed = sum(by_status.get(s, 0) for s in _FAILED)
    sent = by_status.get("SENT_TO_CARRIER", 0) + delivered + by_status.get("UNDELIVERED", 0) \
        + by_status.get("EXPIRED", 0)
    waiting = by_status.get("PENDING", 0) + by_status.get("SENDING", 0)
    members = count_members(connection, row["list_id"])
    return {
        "id": broadcast_id, "name": row["name"], "state": shown_state(row["state"], waiting), "members": members,
        "enqueued": row["enqueued"], "skipped_opted_out": row["skipped"], "unsendable": row["unsendable"],
        "waiting": waiting, "sent": sent,
        "delivered": delivered, "failed": failed, "by_status": by_status,
        "done": is_done(row["state"], waiting),
    }


def cancel(connection: Connection, broadcast_id: int) -> dict[str, Any]:
    """Stop queueing; messages still waiting become NOT_SENT ("Broadcast cancelled")."""
    state = connection.execute(select(broadcasts.c.state).where(broadcasts.c.id == broadcast_id)).scalar()
    if state is None:
        raise InvalidParameter("id", f"no broadcast {broadcast_id}")
    now = _now_ms()
    connection.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id)
                       .values(state="cancelled", finished_at_ms=now))
    withdrawn = connection.execute(
        update(messages).where(messages.c.broadcast_id == broadcast_id, messages.c.status == "PENDING")
        .values(status="NOT_SENT", status_detail="Broadcast cancelled", updated_at_ms=now)
        .returning(messages.c.id)).scalars().all()
    # A priced message was debited when it was queued: no carrier took it, so its price comes back,
    # in this transaction, as for any message made final without a carrier (store/credit.py).
    refund_unsent(connection, withdrawn, now)
    return {"id": broadcast_id, "state": "cancelled", "withdrawn": len(withdrawn)}


def paused_among(connection: Connection, broadcast_ids: list[int]) -> frozenset[int]:
    """Those of the broadcasts that are paused."""
    if not broadcast_ids:
        return frozenset()
    query = select(broadcasts.c.id).where(broadcasts.c.id.in_(broadcast_ids), broadcasts.c.state == "paused")
    return frozenset(connection.execute(query).scalars())


def pause(connection: Connection, broadcast_id: int) -> int | None:
    """Stop queueing and hold the messages waiting (see domain/broadcast_state.py); how many were
    held, or None (nothing written) when the broadcast is no longer in a state a pause comes from.

    The broadcast's row is written first: a page the worker queues meanwhile either commits before
    it (and its messages are held here) or finds the broadcast paused and writes nothing."""
    paused = connection.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id, broadcasts.c.state.in_(PAUSABLE_STATES))
        .values(state="paused")).rowcount
    if not paused:
        return None
    return connection.execute(
        update(messages).where(messages.c.broadcast_id == broadcast_id, messages.c.status == "PENDING",
                               messages.c.next_attempt_at_ms < HELD_MS)
        .values(next_attempt_at_ms=messages.c.next_attempt_at_ms + HELD_MS,
                expires_at_ms=messages.c.expires_at_ms + HELD_MS)).rowcount


def resume(connection: Connection, broadcast_id: int, state: str, now_ms: int) -> int | None:
    """Back to ``state`` (domain/broadcast_state.py ``resumed_state``), its held messages due now with
    the validity they had left; how many were released, or None (nothing written) when it is no
    longer paused. The worker queues the rest of its members from its cursor: none twice, none
    skipped."""
    resumed = connection.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id, broadcasts.c.state == "paused")
        .values(state=state)).rowcount
    if not resumed:
        return None
    return connection.execute(
        update(messages).where(messages.c.broadcast_id == broadcast_id, messages.c.status == "PENDING",
                               messages.c.next_attempt_at_ms >= HELD_MS)
        # Both right-hand sides read the row as it was (SQL evaluates them before assigning).
        .values(next_attempt_at_ms=now_ms,
                expires_at_ms=messages.c.expires_at_ms - messages.c.next_attempt_at_ms + now_ms)).rowcount


def list_broadcasts(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    query = select(broadcasts.c.id, broadcasts.c.workspace_id, broadcasts.c.name, broadcasts.c.list_id,
                   broadcasts.c.state, broadcasts.c.enqueued, broadcasts.c.skipped,
                   broadcasts.c.scheduled_at_ms).order_by(broadcasts.c.id)
    if workspace_id is not None:
        query = query.where(broadcasts.c.workspace_id == workspace_id)
    rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:  # the state as status() shows it; only a fully queued one needs its count
        row["state"] = shown_state(row["state"], waiting(connection, row["id"]) if row["state"] == "queued" else 0)
    return rows


def _now_ms() -> int:
    return int(time.time() * 1000)
