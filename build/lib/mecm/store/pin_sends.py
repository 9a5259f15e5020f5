"""Counting a workspace's recent PIN sends to a number or a block of numbers (the SMS-pumping
defence, services/pin_sends.py), in the transaction that would store the next one.

The count reads the pins table through its index (workspace_id, recipient, message_id); message ids
grow with time (domain/ids.py), so "since" is a range of ids. On PostgreSQL the transaction first
takes an advisory lock on the workspace's block of numbers: two API processes storing PINs to the
same block take turns, so neither misses the other's send (SQLite's single writer already does).
"""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, func, select, text

from mecm.domain.ids import first_id_at
from mecm.store.tables import pins

_PIN_BLOCK_LOCK = 0x6D65636D + 0x100  # "mecm" + 256: a kind of its own among mecm's advisory locks
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def lock_block(connection: Connection, workspace_id: int, block: str) -> None:
    """Held to the end of the transaction (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    value = zlib.crc32(f"{workspace_id}:{block}".encode())
    key = (_PIN_BLOCK_LOCK << 32) | value
    connection.execute(_LOCK, {"key": key - (1 << 64) if key >= 1 << 63 else key})


def recent_to_number(connection: Connection, workspace_id: int, number: str, since_ms: int) -> tuple[int, int | None]:
    """(PIN sends to ``number`` since ``since_ms``, the oldest one's message id)."""
    where = (pins.c.workspace_id == workspace_id, pins.c.recipient == number,
             pins.c.message_id >= first_id_at(since_ms))
    row = connection.execute(select(func.count(), func.min(pins.c.message_id)).where(*where)).one()
    return int(row[0]), row[1]


def recent_to_block(connection: Connection, workspace_id: int, block: str, since_ms: int) -> tuple[int, int | None]:
    """(PIN sends to numbers starting with ``block`` since ``since_ms``, the oldest one's message id).
    Numbers are digits, and ":" follows "9": the numbers of the block sort from ``block`` to ``block:``."""
    where = (pins.c.workspace_id == workspace_id, pins.c.recipient >= block, pins.c.recipient < block + ":",
             pins.c.message_id >= first_id_at(since_ms))
    row = connection.execute(select(func.count(), func.min(pins.c.message_id)).where(*where)).one()
    return int(row[0]), row[1]
