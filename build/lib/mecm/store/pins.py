"""verifyPin's statements: the newest PIN of a number, and the two guarded updates that record a
guess. Each runs inside the caller's transaction.

The guards make concurrent verifications safe on SQLite and PostgreSQL alike: an UPDATE whose WHERE
no longer holds once it has the row (PostgreSQL re-checks it after waiting for another
transaction's lock; SQLite has one writer) changes nothing, so two right guesses approve once, and
wrong guesses never count past the maximum.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from mecm.domain.pin_verification import PinState

_COLUMNS = "message_id, pin_hash, expires_at_ms, attempts, verified_at_ms IS NOT NULL"
_NEWEST = text(
    f"SELECT {_COLUMNS} FROM pins WHERE workspace_id = :workspace AND recipient = :recipient"
    " ORDER BY message_id DESC LIMIT 1"
)
_BY_ID = text(f"SELECT {_COLUMNS} FROM pins WHERE message_id = :id")
# The guard in both: still open to guesses (before_guess in domain/pin_verification.py).
_OPEN = "message_id = :id AND verified_at_ms IS NULL AND attempts < :max AND expires_at_ms > :now"
_APPROVE = text(f"UPDATE pins SET verified_at_ms = :now WHERE {_OPEN}")
_COUNT_WRONG = text(f"UPDATE pins SET attempts = attempts + 1 WHERE {_OPEN} RETURNING attempts")


def _state(row) -> PinState | None:  # noqa: ANN001
    return None if row is None else PinState(row[0], row[1], row[2], row[3], bool(row[4]))


def newest(connection: Connection, workspace_id: int, recipient: str) -> PinState | None:
    """The PIN sent last to ``recipient`` by the workspace (ids grow with time), or None."""
    return _state(connection.execute(_NEWEST, {"workspace": workspace_id, "recipient": recipient}).first())


def by_id(connection: Connection, message_id: int) -> PinState | None:
    return _state(connection.execute(_BY_ID, {"id": message_id}).first())


def approve(connection: Connection, message_id: int, now_ms: int, max_attempts: int) -> bool:
    """Consume the PIN; False when it was no longer open to guesses."""
    params = {"id": message_id, "now": now_ms, "max": max_attempts}
    return connection.execute(_APPROVE, params).rowcount == 1


def count_wrong(connection: Connection, message_id: int, now_ms: int, max_attempts: int) -> int | None:
    """Count a wrong guess; the wrong guesses so far, or None when it was no longer open to guesses."""
    params = {"id": message_id, "now": now_ms, "max": max_attempts}
    return connection.execute(_COUNT_WRONG, params).scalar_one_or_none()
