"""What ``/metrics`` and ``/readyz`` read from the database: counts of the few non-final rows (index
counts), and whether the database answers at all."""

from __future__ import annotations

from sqlalchemy import Connection, text

_QUEUE = text("SELECT status, COUNT(*) FROM messages WHERE status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')"
              " GROUP BY status")
_OUTBOX = text("SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending', 'dead') GROUP BY state")


def queue_and_outbox(connection: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """(MTs by non-final status, outbox jobs pending and dead)."""
    return dict(connection.execute(_QUEUE).all()), dict(connection.execute(_OUTBOX).all())  # type: ignore[arg-type]


def answers(connection: Connection) -> int:
    """A statement the database must answer (1): it is there and reachable."""
    return connection.execute(text("SELECT 1")).scalar_one()
