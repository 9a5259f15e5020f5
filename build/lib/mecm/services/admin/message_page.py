"""One message as the console's message page shows it: what it is (numbers, text, segments, price,
the carrier's id), where it came from (the key, the MO it answered, the broadcast), and its timeline.
Read only.

The timeline is built from what the message's row keeps, not from a log of every step: when it was
accepted, when it may be sent (a scheduled message), how many submits it took, the carrier's id once
the carrier took it, each part's receipt, and its status now with the time it last changed; a
refund's time too. mecm writes no history row per status change, because every such row would be a
write more per message on the delivery path; the status callback (workspace settings) gives a
client each change as it happens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.dates import format_date
from mecm.domain.money import format_amount
from mecm.domain.status import FINAL, Status, describe
from mecm.services.admin.lookups import require_workspace
from mecm.store import message_page as store

_FINAL = frozenset(s.value for s in FINAL)


def message_page(connection: Connection, workspace_id: int, message_id: int, now_ms: int) -> dict[str, Any] | None:
    """The message ``message_id`` of the workspace, shaped for its page; None if it has no such message."""
    zone = require_workspace(connection, workspace_id)
    row = store.message_row(connection, workspace_id, message_id)
    if row is None:
        return None
    parts = store.parts_of(connection, message_id)
    currency = store.currency_of(connection, workspace_id) if row["price"] is not None else None
    mo = store.mo_of(connection, workspace_id, row["mo_id"]) if row["mo_id"] is not None else None
    broadcast = store.broadcast_name(connection, workspace_id, row["broadcast_id"]) if row["broadcast_id"] else None
    price = None if row["price"] is None else f"{format_amount(row['price'])} {currency or ''}".strip()
    return {
        "id": str(row["id"]), "kind": row["kind"], "sender": row["sender"], "recipient": row["recipient"],
        "carrier": row["carrier"], "text": row["text"], "flags": row["flags"], "data_coding": row["data_coding"],
        "segments": row["segments"], "priority": row["priority"], "status": row["status"],
        "status_description": describe(row["status"]), "status_detail": row["status_detail"],
        "final": row["status"] in _FINAL, "carrier_message_id": row["carrier_message_id"],
        "attempts": row["attempts"], "client_id": row["client_id"], "price": price,
        "refunded": row["refunded_at_ms"] is not None, "parts": parts,
        "mo": None if mo is None else {**mo, "id": str(mo["id"]), "received_at": format_date(mo["received_at_ms"], zone)},
        "broadcast": None if row["broadcast_id"] is None else {"id": row["broadcast_id"], "name": broadcast},
        "timeline": timeline(row, parts, zone, now_ms, price),
    }


def timeline(row: dict[str, Any], parts: list[dict[str, Any]], zone: str, now_ms: int,
             price: str | None) -> list[dict[str, str]]:
    """The steps the row shows, oldest first: each a time (ISO 8601 in ``zone``, "" if not kept) and what."""
    steps = [(row["created_at_ms"], f"Accepted ({row['kind']}, {row['segments']} segment"
                                    f"{'s' if row['segments'] != 1 else ''})" + (f", charged {price}" if price else ""))]
    if row["next_attempt_at_ms"] > row["created_at_ms"] and row["status"] == Status.PENDING.value:
        steps.append((row["next_attempt_at_ms"], "Due to be sent (scheduled, or waiting to try again)"))
    if row["attempts"]:
        submitted = f"Handed to carrier {row['carrier']}" if row["carrier_message_id"] else "Tried at the carrier"
        extra = f", its id {row['carrier_message_id']}" if row["carrier_message_id"] else ""
        steps.append((None, f"{submitted} ({row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}){extra}"))
    for part in parts:
        receipt = f"receipt {part['status']}" if part["status"] else "no receipt yet"
        steps.append((None, f"Part {part['part_index'] + 1}: carrier id {part['carrier_message_id']}, {receipt}"))
    if row["status"] in _FINAL or row["updated_at_ms"] > row["created_at_ms"]:
        detail = f": {row['status_detail']}" if row["status_detail"] else ""
        steps.append((row["updated_at_ms"], f"{row['status']} ({describe(row['status'])}){detail}"))
    if row["status"] not in _FINAL and row["expires_at_ms"] > now_ms:
        steps.append((row["expires_at_ms"], "Expires if no receipt has come by then"))
    if row["refunded_at_ms"] is not None:
        steps.append((row["refunded_at_ms"], f"Refunded {price}: it never reached a carrier"))
    return [{"at": "" if at is None else format_date(at, zone), "what": what} for at, what in steps]
