"""The index of messages by number (store/number_index.py) and a search by number through it: pieces
are indexed once settled and full (or old), a search finds a number's messages whether indexed or
still in the tail, newest first and a page at a time, two indexers racing index a piece once, and a
row committed late into an indexed piece is indexed when the piece is counted again."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, insert, select

from mecm.domain.ids import first_id_at
from mecm.domain.record_search import RecordSearch
from mecm.services.number_indexer import NumberIndexer
from mecm.store import number_index
from mecm.store.record_search import search_page
from mecm.store.tables import message_numbers, messages, number_pieces
from mecm.store.writer import GroupCommitWriter
from tests.unit.store.test_queue import row

T0 = 1_780_000_000_000
MINUTE = 60_000
RULES = {"piece_messages": 3, "settle_ms": MINUTE, "fill_ms": 60 * MINUTE}
ALICE, BOB = "584141111111", "584142222222"


def send(engine: Engine, at_ms: int, to: str, n: int = 0, **values: object) -> int:
    message_id = first_id_at(at_ms) + n
    with engine.begin() as c:
        c.execute(insert(messages), [row(message_id, recipient=to, created_at_ms=at_ms, **values)])
    return message_id


def index(connection: Connection, piece: number_index.Piece, now_ms: int) -> bool:
    number_index.write_numbers(connection, piece, 0, len(piece.numbers))
    return number_index.register_piece(connection, piece, now_ms)


def index_due(engine: Engine, now_ms: int) -> list[int]:
    """Index every piece due at ``now_ms``; the size of each."""
    sizes = []
    while True:
        with engine.begin() as c:
            piece = number_index.next_piece(c, now_ms, **RULES)
            if piece is None:
                return sizes
            index(c, piece, now_ms)
            sizes.append(len(piece.numbers))


def to_number(engine: Engine, number: str, *, before_id: int | None = None, limit: int = 100,
              **filters: object) -> list[int]:
    search = RecordSearch(kind="messages", number=number, **filters)
    with engine.connect() as c:
        return [r["id"] for r in search_page(c, 1, search, before_id, limit)]


def test_a_piece_is_indexed_once_settled_and_full_or_an_hour_old(engine: Engine) -> None:
    ids = [send(engine, T0 + i * 1000, ALICE if i % 2 else BOB) for i in range(5)]
    assert index_due(engine, T0 + 30_000) == []  # none settled yet
    assert index_due(engine, T0 + 5_000 + MINUTE) == [3]  # three settled fill a piece; two wait
    assert index_due(engine, T0 + 30 * MINUTE) == []  # not full, and not an hour old
    assert index_due(engine, T0 + 61 * MINUTE) == [2]  # the oldest waited an hour: indexed as they are
    with engine.connect() as c:
        assert number_index.watermark(c) == first_id_at(T0 + 60 * MINUTE)
        indexed = c.execute(select(message_numbers.c.message_id, message_numbers.c.recipient)).all()
    assert sorted(indexed) == sorted((i, ALICE if n % 2 else BOB) for n, i in enumerate(ids))


def test_idle_indexing_writes_nothing(engine: Engine) -> None:
    assert index_due(engine, T0) == []
    send(engine, T0, ALICE)
    index_due(engine, T0 + 2 * 60 * MINUTE)
    with engine.connect() as c:
        pieces = c.execute(select(func.count()).select_from(number_pieces)).scalar()
    assert index_due(engine, T0 + 10 * 60 * MINUTE) == []
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(number_pieces)).scalar() == pieces == 1


def test_a_search_by_number_finds_indexed_and_tail_messages_newest_first(engine: Engine) -> None:
    alice = [send(engine, T0 + i * MINUTE, ALICE, i) for i in range(7)]
    send(engine, T0 + 30 * 1000, BOB)
    send(engine, T0 + 90 * 1000, BOB, sender=ALICE)  # the number as an MT's sender is not its recipient
    index_due(engine, T0 + 5 * MINUTE)  # the first few indexed, the rest still the tail
    with engine.connect() as c:
        assert 0 < number_index.watermark(c) < alice[-1]
    assert to_number(engine, ALICE) == alice[::-1]
    first = to_number(engine, ALICE, limit=2)
    assert first == alice[:-3:-1]
    assert to_number(engine, ALICE, before_id=first[-1], limit=4) == alice[-3:-7:-1]  # crosses into the index
    assert to_number(engine, ALICE, since_ms=T0 + 2 * MINUTE, until_ms=T0 + 5 * MINUTE) == alice[4:1:-1]
    assert to_number(engine, ALICE, statuses=("DELIVERED_TO_DEVICE",)) == []
    assert to_number(engine, "584149999999") == []


def test_another_workspaces_messages_to_the_number_stay_out(engine: Engine) -> None:
    ours = send(engine, T0, ALICE)
    send(engine, T0 + 1000, ALICE, workspace_id=2)
    index_due(engine, T0 + 2 * 60 * MINUTE)
    assert to_number(engine, ALICE) == [ours]


async def test_two_indexers_racing_index_a_piece_once(engine: Engine) -> None:
    for i in range(3):
        send(engine, T0 + i, ALICE, i)
    now = T0 + 2 * MINUTE
    with engine.connect() as c:
        first, second = number_index.next_piece(c, now, **RULES), number_index.next_piece(c, now, **RULES)
    assert first is not None and second is not None
    writer = GroupCommitWriter(engine)  # as the indexers write: a refusal would come back wrapped
    try:
        assert await writer.write(lambda c: index(c, first, now)) is True
        assert await writer.write(lambda c: index(c, second, now)) is False  # the loser writes nothing new
    finally:
        writer.close()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(message_numbers)).scalar() == 3
        assert c.execute(select(func.count()).select_from(number_pieces)).scalar() == 1


async def test_a_row_committed_late_into_an_indexed_piece_is_indexed_at_its_check(engine: Engine) -> None:
    on_time = [send(engine, T0 + i * 1000, ALICE, i) for i in range(3)]
    clock = [(T0 + 2 * MINUTE) / 1000]
    writer = GroupCommitWriter(engine)
    try:
        indexer = NumberIndexer(writer, clock=lambda: clock[0], check_after_ms=10 * MINUTE, **RULES)
        assert await indexer.index_once() == 3
        late = send(engine, T0 + 1500, ALICE, 7)  # its id made at T0 + 1.5 s, committed two minutes later
        assert to_number(engine, ALICE) == on_time[::-1]  # inside the indexed piece: not found yet
        assert await indexer.check_once() is False  # not due before CHECK_AFTER_MS
        clock[0] += 10 * MINUTE / 1000
        assert await indexer.check_once() is True
        assert await indexer.check_once() is False  # checked once
    finally:
        writer.close()
    assert to_number(engine, ALICE) == sorted([*on_time, late], reverse=True)


def test_an_attempt_cut_short_shows_nothing_twice_and_the_next_completes_it(engine: Engine) -> None:
    ids = [send(engine, T0 + i, ALICE, i) for i in range(3)]
    now = T0 + 2 * MINUTE
    with engine.begin() as c:
        piece = number_index.next_piece(c, now, **RULES)
        assert piece is not None
        number_index.write_numbers(c, piece, 0, 2)  # then the process died: the piece is not registered
    assert to_number(engine, ALICE) == ids[::-1]  # from the tail, each once
    assert index_due(engine, now) == [3]
    assert to_number(engine, ALICE) == ids[::-1]  # from the index, each once
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(message_numbers)).scalar() == 3


async def test_the_indexer_catches_up_piece_after_piece_by_its_clock(engine: Engine) -> None:
    ids = [send(engine, T0 + i, ALICE, i) for i in range(8)]
    now_s = [(T0 + 30_000) / 1000]
    writer = GroupCommitWriter(engine)
    try:
        indexer = NumberIndexer(writer, clock=lambda: now_s[0], **RULES)
        assert await indexer.index_once() == 0  # not settled by its clock
        now_s[0] = (T0 + 2 * MINUTE) / 1000
        assert [await indexer.index_once() for _ in range(3)] == [3, 3, 0]  # two full pieces; two wait
        commits = writer.commits
        assert await indexer.index_once() == 0 and writer.commits == commits  # nothing due: no write
        now_s[0] += number_index.CHECK_AFTER_MS / 1000
        assert await indexer.check_once() is True
        assert writer.commits == commits + 1  # a piece that gained nothing: its check alone is written
    finally:
        writer.close()
    assert to_number(engine, ALICE) == ids[::-1]
