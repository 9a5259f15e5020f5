"""The delivery queue's statements, in one place (procrastinate's habit: SQL you can read).

A message row is its own queue entry. Its life:

    PENDING ──claim──> SENDING ──accepted──> SENT_TO_CARRIER ──receipt──> DELIVERED_TO_DEVICE / UNDELIVERED
       ^                  │                        └──no receipt by expires_at──> EXPIRED
       └──retry later─────┤
                          └──permanent failure──> NOT_SENT / UNREACHABLE / BAD_TO / ...

Every status change is guarded by the statuses it may come from, so a late or repeated receipt can
never move a final status (SPEC section 5). Each function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from mecm.store.bulk import executemany

@dataclass(frozen=True)
class Claimed:
    id: int
    carrier: str
    sender: str
    recipient: str
    text: str
    flags: str
    data_coding: str
    segments: int
    attempts: int
    expires_at_ms: int


_CLAIM = text(
    """
    UPDATE messages
       SET status = 'SENDING', updated_at_ms = :now, attempts = attempts + 1
     WHERE id IN (SELECT id FROM messages
                   WHERE status = 'PENDING' AND next_attempt_at_ms <= :now
                   ORDER BY priority, next_attempt_at_ms, id
                   LIMIT :limit)
    RETURNING id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms
    """
)


def claim_pending(connection: Connection, now_ms: int, limit: int) -> list[Claimed]:
    """Move up to ``limit`` due PENDING messages to SENDING and return them.

    SENDING is committed before any submit, so after a crash every message that may have reached
    the carrier is SENDING or later, and is reconciled rather than blindly resent.
    """
    rows = connection.execute(_CLAIM, {"now": now_ms, "limit": limit}).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


_SENDING = text(
    "SELECT id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms"
    " FROM messages WHERE status = 'SENDING' ORDER BY id"
)


def in_doubt(connection: Connection) -> list[Claimed]:
    """Messages left SENDING by a stop: their submit may or may not have reached the carrier."""
    return [Claimed(*row) for row in connection.execute(_SENDING).all()]


_NEXT_DUE = text("SELECT MIN(next_attempt_at_ms) FROM messages WHERE status = 'PENDING'")


def next_due_ms(connection: Connection) -> int | None:
    return connection.execute(_NEXT_DUE).scalar()


_MARK_SENT = text(
    """
    UPDATE messages SET status = 'SENT_TO_CARRIER', carrier_message_id = :ref, updated_at_ms = :now
     WHERE id = :id AND status IN ('PENDING', 'SENDING')
    """
)
_TAKE_BUFFERED = text(
    "SELECT carrier_message_id, status, detail FROM pending_receipts"
    " WHERE carrier = :carrier AND carrier_message_id = :ref"
)
_DROP_BUFFERED = text("DELETE FROM pending_receipts WHERE carrier = :carrier AND carrier_message_id = :ref")
_ANY_BUFFERED = text("SELECT 1 FROM pending_receipts LIMIT 1")


def mark_sent(connection: Connection, carrier: str, accepted: Sequence[tuple[int, str]], now_ms: int) -> None:
    """Record the carrier's message id; apply any receipt that arrived before this response."""
    if not accepted:
        return
    executemany(connection, _MARK_SENT, [{"id": i, "ref": ref, "now": now_ms} for i, ref in accepted])
    if connection.execute(_ANY_BUFFERED).first() is None:
        return  # the usual case: no receipt ever beat its response
    for _, ref in accepted:
        buffered = connection.execute(_TAKE_BUFFERED, {"carrier": carrier, "ref": ref}).first()
        if buffered is not None:
            _set_final_by_ref(connection, carrier, ref, buffered.status, buffered.detail, now_ms)
            connection.execute(_DROP_BUFFERED, {"carrier": carrier, "ref": ref})


_RETRY = text(
    """
    UPDATE messages SET status = 'PENDING', next_attempt_at_ms = :at, status_detail = :detail,
                        updated_at_ms = :now
     WHERE id = :id AND status = 'SENDING'
    """
)


def mark_retry(connection: Connection, retries: Sequence[tuple[int, int, str]], now_ms: int) -> None:
    """Back to PENDING, due again at the given time: (id, next_attempt_at_ms, detail)."""
    if retries:
        executemany(connection, _RETRY, [{"id": i, "at": at, "detail": d, "now": now_ms} for i, at, d in retries])


_FINAL_BY_ID = text(
    """
    UPDATE messages SET status = :status, status_detail = :detail, updated_at_ms = :now
     WHERE id = :id AND status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')
    """
)


def mark_final(connection: Connection, finals: Sequence[tuple[int, str, str | None]], now_ms: int) -> None:
    """(id, final status, detail); a message already final keeps its status."""
    if finals:
        executemany(connection, _FINAL_BY_ID, [{"id": i, "status": s, "detail": d, "now": now_ms} for i, s, d in finals])


_FINAL_BY_REF = text(
    """
    UPDATE messages SET status = :status, status_detail = :detail, updated_at_ms = :now
     WHERE carrier = :carrier AND carrier_message_id = :ref
       AND status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')
    """
)
_KNOWN_REF = text("SELECT 1 FROM messages WHERE carrier = :carrier AND carrier_message_id = :ref LIMIT 1")
_BUFFER = text(
    """
    INSERT INTO pending_receipts (carrier, carrier_message_id, status, detail, received_at_ms)
    VALUES (:carrier, :ref, :status, :detail, :now)
    ON CONFLICT (carrier, carrier_message_id) DO UPDATE SET status = excluded.status, detail = excluded.detail
    """
)


def _set_final_by_ref(
    connection: Connection, carrier: str, ref: str, status: str, detail: str | None, now_ms: int
) -> int:
    params = {"carrier": carrier, "ref": ref, "status": status, "detail": detail, "now": now_ms}
    return connection.execute(_FINAL_BY_REF, params).rowcount


def apply_receipts(
    connection: Connection, carrier: str, receipts: Sequence[tuple[str, str, str | None]], now_ms: int
) -> int:
    """Apply (carrier_message_id, final status, detail) receipts; buffer those for unknown ids.

    Returns how many were buffered. A receipt for a message that is already final changes nothing.
    """
    if not receipts:
        return 0
    params = [
        {"carrier": carrier, "ref": ref, "status": status, "detail": detail, "now": now_ms}
        for ref, status, detail in receipts
    ]
    if executemany(connection, _FINAL_BY_REF, params) == len(params):
        return 0  # the usual case: every receipt found its message
    buffered = 0
    for row in params:
        if connection.execute(_KNOWN_REF, row).first() is None:
            connection.execute(_BUFFER, row)
            buffered += 1
    return buffered


_EXPIRE = text(
    """
    UPDATE messages SET status = 'EXPIRED', status_detail = 'No receipt within validity', updated_at_ms = :now
     WHERE status IN ('PENDING', 'SENT_TO_CARRIER') AND expires_at_ms <= :now
    """
)


def expire_overdue(connection: Connection, now_ms: int) -> int:
    """Messages past their validity without a final status become EXPIRED.

    SENDING is left alone: its outcome is being decided by a submit in flight.
    """
    return connection.execute(_EXPIRE, {"now": now_ms}).rowcount

