"""A receipt and the response it beat, recorded side by side by two PostgreSQL transactions.

Neither transaction sees the other's uncommitted rows. Whichever order they commit in, the message
must end DELIVERED_TO_DEVICE with nothing left buffered, without waiting for apply_buffered's sweep.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, event, text

from mecm.store import queue
from mecm.store.tables import messages
from tests.support.databases import on_postgresql
from tests.support.waiting import wait_until
from tests.unit.store.test_queue import row, status_of

pytestmark = pytest.mark.skipif(not on_postgresql(), reason="SQLite has one writer at a time: no race")


def _in_thread(work) -> threading.Thread:  # noqa: ANN001
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _buffered(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT COUNT(*) FROM pending_receipts")).scalar_one()


def _waiting_for_a_lock(engine: Engine) -> bool:
    """A session of this test's database waits for a lock (other test runs share the PostgreSQL)."""
    with engine.connect() as c:
        return c.execute(text("SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND pid IN"
                              " (SELECT pid FROM pg_stat_activity WHERE datname = current_database())")).scalar_one() > 0


def test_receipt_while_its_id_is_being_recorded_is_applied_once_the_recording_commits(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING")])
    recording = engine.connect()
    recording.begin()
    queue.mark_sent(recording, "sim", [(1, "ref-1", ())], 6)  # not committed yet
    outcome: dict[str, int] = {}

    def receive() -> None:
        with engine.begin() as c:
            outcome["buffered"] = queue.apply_receipts(c, "sim", [("ref-1", "DELIVERED_TO_DEVICE", None)], 7)

    receiving = _in_thread(receive)
    wait_until(lambda: _waiting_for_a_lock(engine), timeout=10)  # the receipt found nothing, and waits its turn
    recording.commit()
    recording.close()
    receiving.join(10)
    assert outcome == {"buffered": 0}
    with engine.connect() as c:
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
    assert _buffered(engine) == 0


def test_response_recorded_while_its_receipt_is_being_buffered_applies_it(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING")])
    receiving = engine.connect()
    receiving.begin()
    assert queue.apply_receipts(receiving, "sim", [("ref-1", "DELIVERED_TO_DEVICE", None)], 5) == 1  # buffered

    def record() -> None:
        with engine.begin() as c:
            queue.mark_sent(c, "sim", [(1, "ref-1", ())], 6)

    recording = _in_thread(record)
    wait_until(lambda: _waiting_for_a_lock(engine), timeout=10)  # the id is written, the look for receipts waits
    receiving.commit()
    receiving.close()
    recording.join(10)
    with engine.connect() as c:
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
    assert _buffered(engine) == 0


def test_receipts_that_find_their_messages_do_not_wait_for_a_recording(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING"), row(2, status="SENDING")])
        queue.mark_sent(c, "sim", [(1, "ref-1", ())], 5)
    recording = engine.connect()
    recording.begin()
    queue.mark_sent(recording, "sim", [(2, "ref-2", ())], 6)  # holds the lock until it commits
    try:
        with engine.begin() as c:
            c.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test, not hang it
            assert queue.apply_receipts(c, "sim", [("ref-1", "DELIVERED_TO_DEVICE", None)], 7) == 0
            assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
    finally:
        recording.rollback()
        recording.close()


def test_a_first_parts_receipt_whose_message_commits_between_its_looks_is_applied(engine: Engine) -> None:
    """A multi-part message's recording commits after the receipt's look for parts and before its
    look for the message: the first part's id is the message's id too, so the receipt finds the
    message; it must still settle the part (it used to be dropped, and the message never ended)."""
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=2)])
    recording = engine.connect()
    recording.begin()
    queue.mark_sent(recording, "sim", [(1, "p1", ("p1", "p2"))], 5)  # not committed yet
    receiving = engine.connect()

    def commit_the_recording_first(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if recording.in_transaction() and statement.startswith("SELECT 1 FROM messages WHERE carrier"):
            recording.commit()  # between the look for parts (it saw none) and the look for the message

    event.listen(receiving, "before_cursor_execute", commit_the_recording_first)
    try:
        with receiving.begin():
            assert queue.apply_receipts(receiving, "sim", [("p1", "DELIVERED_TO_DEVICE", None)], 6) == 0
        assert not recording.in_transaction(), "the recording did not commit where the test meant it to"
        with engine.begin() as c:
            assert queue.apply_receipts(c, "sim", [("p2", "DELIVERED_TO_DEVICE", None)], 7) == 0
            assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
    finally:
        event.remove(receiving, "before_cursor_execute", commit_the_recording_first)
        receiving.close()
        recording.close()
    assert _buffered(engine) == 0
