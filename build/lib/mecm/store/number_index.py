"""Which messages went to a number, kept apart from the send path (tables ``number_pieces`` and
``message_numbers``), so that a search by number reads a few index entries per piece rather than
every message.

A piece is a run of message ids, ``first_id <= id < end_id``; pieces follow each other without a
gap from the first message on, and the end of the last is the watermark: messages below it are
indexed, those from it on are the tail, which a search reads from ``messages`` itself. A piece is
indexed once its messages are SETTLE_MS old (an id is made a little before its row commits, and
clocks of several API nodes differ a little) and either it holds PIECE_MESSAGES messages or its
oldest has waited a FILL_MS: at a trickle the tail is at most about an hour of messages, under load
about PIECE_MESSAGES plus a minute of them.

A piece's rows are sorted by number and all go after every earlier piece's (the piece leads the
key), so indexing appends to the index rather than writing all over it. They are written a few
thousand a transaction (each holds the write lock briefly), then the piece's ``number_pieces`` row,
which makes them part of the index: a search reads only registered pieces, and the ids below the
watermark. An attempt cut short leaves rows of no registered piece, which no search reads; the
next attempt writes the piece again, keeping the rows already there. Two indexers racing for the
same piece (several processes on one database) both write its rows harmlessly, and one of them
registers it.

The settle rule assumes an id is made less than SETTLE_MS before its row commits. A row that
commits later than that (a stalled disk, a write lock held long by another process, an API node's
clock far behind) may land in a piece already indexed. So each piece is counted again
CHECK_AFTER_MS after it was indexed, and any message it gained meanwhile is indexed then (logged).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, select, text, update

from mecm.domain.ids import first_id_at
from mecm.store.tables import message_numbers, messages, number_pieces

PIECE_MESSAGES = 20_000
SETTLE_MS = 60_000
FILL_MS = 3_600_000
CHECK_AFTER_MS = 600_000

_REGISTER = text(
    "INSERT INTO number_pieces (first_id, end_id, messages, indexed_at_ms) VALUES (:first_id, :end_id, :messages, :now)"
    " ON CONFLICT DO NOTHING"
)
_WRITE_NUMBER = text(
    "INSERT INTO message_numbers (piece, recipient, message_id) VALUES (:piece, :recipient, :message_id)"
    " ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class Piece:
    first_id: int
    end_id: int
    numbers: list[tuple[str, int]]  # (recipient, message id), sorted


def watermark(connection: Connection) -> int:
    """The first message id not yet indexed (0 before any piece)."""
    return connection.execute(select(func.max(number_pieces.c.end_id))).scalar() or 0


def next_piece(connection: Connection, now_ms: int, *, piece_messages: int = PIECE_MESSAGES,
               settle_ms: int = SETTLE_MS, fill_ms: int = FILL_MS) -> Piece | None:
    """The piece to index next with its numbers, or None when none is due (a read only, so that the
    write that follows holds the write lock for its inserts alone)."""
    start = watermark(connection)
    settled = first_id_at(now_ms - settle_ms)
    if settled <= start:
        return None
    rows = connection.execute(
        select(messages.c.id, messages.c.recipient).where(messages.c.id >= start, messages.c.id < settled)
        .order_by(messages.c.id).limit(piece_messages)
    ).all()
    if len(rows) == piece_messages:
        end = rows[-1].id + 1
    elif rows and rows[0].id < first_id_at(now_ms - fill_ms):
        end = settled
    else:
        return None
    return Piece(start, end, sorted((row.recipient, row.id) for row in rows))


def write_numbers(connection: Connection, piece: Piece, start: int, stop: int) -> None:
    """Write ``piece.numbers[start:stop]``; a row already there (written by another indexer, or by
    an attempt cut short) is left as it is."""
    connection.execute(_WRITE_NUMBER, [{"piece": piece.first_id, "recipient": recipient, "message_id": message_id}
                                       for recipient, message_id in piece.numbers[start:stop]])


def register_piece(connection: Connection, piece: Piece, now_ms: int) -> bool:
    """Make ``piece`` part of the index (its numbers written first); False when another indexer
    registered it first (nothing written)."""
    registered = connection.execute(_REGISTER, {"first_id": piece.first_id, "end_id": piece.end_id,
                                                "messages": len(piece.numbers), "now": now_ms})
    return registered.rowcount == 1


@dataclass(frozen=True)
class Check:
    piece: Piece  # with the numbers of every message in its range now
    indexed: int  # how many of its messages were indexed before

    @property
    def gained(self) -> int:
        """Messages that committed into the piece after it was indexed."""
        return len(self.piece.numbers) - self.indexed


def piece_to_check(connection: Connection, now_ms: int, *, check_after_ms: int = CHECK_AFTER_MS) -> Check | None:
    """The oldest piece indexed CHECK_AFTER_MS ago or more and not checked yet (a read only); None:
    none is due."""
    row = connection.execute(
        select(number_pieces.c.first_id, number_pieces.c.end_id, number_pieces.c.messages)
        .where(number_pieces.c.checked_at_ms.is_(None), number_pieces.c.indexed_at_ms <= now_ms - check_after_ms)
        .order_by(number_pieces.c.first_id).limit(1)
    ).first()
    if row is None:
        return None
    numbers = connection.execute(
        select(messages.c.recipient, messages.c.id).where(messages.c.id >= row.first_id, messages.c.id < row.end_id)
    ).all()
    piece = Piece(row.first_id, row.end_id, sorted((recipient, message_id) for recipient, message_id in numbers))
    return Check(piece, row.messages)


def mark_checked(connection: Connection, check: Check, now_ms: int) -> None:
    """Record ``check`` (the numbers it gained written first)."""
    connection.execute(update(number_pieces).where(number_pieces.c.first_id == check.piece.first_id)
                       .values(checked_at_ms=now_ms, messages=len(check.piece.numbers)))


def indexed_ids(number: str, *, below_id: int, from_id: int = 0) -> Select[tuple[int]]:
    """The ids of the messages to ``number`` indexed in ``from_id <= id < below_id``, as a subquery:
    one seek of (piece, number) for each piece in the range. (Written as IN, not a join: with a join
    SQLite's planner reads message_numbers over the range of pieces instead.)"""
    pieces = select(number_pieces.c.first_id).where(number_pieces.c.first_id < below_id,
                                                     number_pieces.c.end_id > from_id)
    return select(message_numbers.c.message_id).where(
        message_numbers.c.piece.in_(pieces), message_numbers.c.recipient == number,
        message_numbers.c.message_id < below_id, message_numbers.c.message_id >= from_id)
