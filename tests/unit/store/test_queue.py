"""The delivery queue's statements on a real SQLite database."""

from __future__ import annotations

import asyncio

import pytest

from sqlalchemy import Connection, Engine, text

from mecm.store import queue
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter, Insert
from tests.support.databases import on_postgresql


def row(i: int, **overrides: object) -> dict:
    base = {
        "id": i, "workspace_id": 1, "client_id": "K", "kind": "sms", "carrier": "sim", "sender": "123",
        "recipient": "13056708084", "text": f"m{i}", "flags": "", "data_coding": "GSM7", "segments": 1,
        "priority": 1, "status": "PENDING", "status_detail": None, "created_at_ms": 0, "updated_at_ms": 0,
        "next_attempt_at_ms": 0, "attempts": 0, "expires_at_ms": 10**13, "carrier_message_id": None,
        "mo_id": None,
    }
    base.update(overrides)
    return base


def status_of(connection: Connection, message_id: int) -> str:
    return connection.execute(text("SELECT status FROM messages WHERE id = :i"), {"i": message_id}).scalar_one()


def test_claim_takes_due_messages_by_priority_once(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1), row(2, priority=0), row(3, next_attempt_at_ms=10**12)])
        claimed = queue.claim_pending(c, now_ms=1000, limit=10)
        assert {m.id for m in claimed} == {1, 2}
        assert all(m.attempts == 1 for m in claimed)
        assert queue.claim_pending(c, now_ms=1000, limit=10) == []
        assert status_of(c, 1) == "SENDING"
        assert [m.id for m in queue.in_doubt(c)] == [1, 2]


def test_claim_orders_high_priority_first(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1), row(2, priority=0)])
        (first,) = queue.claim_pending(c, now_ms=1000, limit=1)
        assert first.id == 2


def test_receipt_before_response_is_buffered_then_applied(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING")])
        assert queue.apply_receipts(c, "sim", [("ref-1", "DELIVERED_TO_DEVICE", None)], 5) == 1
        assert status_of(c, 1) == "SENDING"
        queue.mark_sent(c, "sim", [(1, "ref-1", ())], 6)
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
        assert c.execute(text("SELECT COUNT(*) FROM pending_receipts")).scalar_one() == 0


def test_final_status_never_moves(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING")])
        queue.mark_sent(c, "sim", [(1, "r", ())], 1)
        assert queue.apply_receipts(c, "sim", [("r", "UNDELIVERED", "err")], 2) == 0
        assert queue.apply_receipts(c, "sim", [("r", "DELIVERED_TO_DEVICE", None)], 3) == 0
        assert status_of(c, 1) == "UNDELIVERED"
        queue.mark_sent(c, "sim", [(1, "r2", ())], 4)
        queue.mark_retry(c, [(1, 0, "again")], 5)
        assert status_of(c, 1) == "UNDELIVERED"
        assert c.execute(text("SELECT COUNT(*) FROM pending_receipts")).scalar_one() == 0


def test_multi_part_message_is_delivered_when_every_part_is(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=3)])
        queue.mark_sent(c, "sim", [(1, "p1", ("p1", "p2", "p3"))], 1)
        queue.apply_receipts(c, "sim", [("p1", "DELIVERED_TO_DEVICE", None)], 2)
        queue.apply_receipts(c, "sim", [("p3", "DELIVERED_TO_DEVICE", None)], 3)
        assert status_of(c, 1) == "SENT_TO_CARRIER"  # part 2 has not reported yet
        queue.apply_receipts(c, "sim", [("p2", "DELIVERED_TO_DEVICE", None)], 4)
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"


def test_multi_part_message_fails_when_any_part_fails(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=2)])
        queue.mark_sent(c, "sim", [(1, "p1", ("p1", "p2"))], 1)
        queue.apply_receipts(c, "sim", [("p2", "UNDELIVERED", "err:001")], 2)
        assert status_of(c, 1) == "UNDELIVERED"
        queue.apply_receipts(c, "sim", [("p1", "DELIVERED_TO_DEVICE", None)], 3)
        assert status_of(c, 1) == "UNDELIVERED"


def test_part_receipts_before_the_response_are_applied_when_it_comes(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=2), row(2, status="SENDING")])
        early = [("p1", "DELIVERED_TO_DEVICE", None), ("p2", "DELIVERED_TO_DEVICE", None)]
        assert queue.apply_receipts(c, "sim", early, 1) == 2
        queue.mark_sent(c, "sim", [(1, "p1", ("p1", "p2")), (2, "single", ())], 2)
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
        assert status_of(c, 2) == "SENT_TO_CARRIER"
        queue.apply_receipts(c, "sim", [("single", "DELIVERED_TO_DEVICE", None)], 3)
        assert status_of(c, 2) == "DELIVERED_TO_DEVICE"
        assert c.execute(text("SELECT COUNT(*) FROM pending_receipts")).scalar_one() == 0


def test_the_sweep_applies_a_buffered_receipt_of_a_part_recorded_some_other_way(engine: Engine) -> None:
    """A part's receipt left buffered (its response was recorded without looking, as after a crash)
    is applied by the sweep: a part's id is known too, not only a message's."""
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=2)])
        assert queue.apply_receipts(c, "sim", [("p2", "DELIVERED_TO_DEVICE", None)], 1) == 1
        c.execute(text("UPDATE messages SET status = 'SENT_TO_CARRIER', carrier_message_id = 'p1' WHERE id = 1"))
        c.execute(text("INSERT INTO message_parts (carrier, carrier_message_id, message_id, part_index)"
                       " VALUES ('sim', 'p1', 1, 0), ('sim', 'p2', 1, 1)"))
        assert queue.apply_receipts(c, "sim", [("p1", "DELIVERED_TO_DEVICE", None)], 2) == 0
        assert status_of(c, 1) == "SENT_TO_CARRIER"  # p2's receipt waits in the buffer
        assert queue.sweep_needed(c, 3) == (False, True)
        assert queue.apply_buffered(c, 3) == 1
        assert status_of(c, 1) == "DELIVERED_TO_DEVICE"
        assert queue.sweep_needed(c, 4) == (False, False)


def test_expiry_moves_only_waiting_messages(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [
            row(1, status="SENT_TO_CARRIER", expires_at_ms=100),
            row(2, status="SENDING", expires_at_ms=100),
            row(3, status="DELIVERED_TO_DEVICE", expires_at_ms=100),
            row(4, status="SENT_TO_CARRIER", expires_at_ms=10**13),
        ])
        assert queue.expire_overdue(c, 200) == 1
        assert [status_of(c, i) for i in (1, 2, 3, 4)] == ["EXPIRED", "SENDING", "DELIVERED_TO_DEVICE",
                                                           "SENT_TO_CARRIER"]


def test_slow_down_retry_gives_the_attempt_back(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1), row(2)])
        queue.claim_pending(c, now_ms=1000, limit=10)
        queue.mark_retry(c, [(1, 0, "throttled")], 1001, counts_as_attempt=False)
        queue.mark_retry(c, [(2, 0, "bind lost")], 1001)
        attempts = dict(c.execute(text("SELECT id, attempts FROM messages")).all())
        assert attempts == {1: 0, 2: 1}


def test_group_commit_groups_and_isolates_a_failing_write(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)

    def fail(_c: Connection) -> None:
        raise ValueError("bad write")

    async def scenario() -> list[object]:
        writes = [writer.write(Insert(messages, [row(i)])) for i in range(1, 201)]
        writes.insert(50, writer.write(fail))
        return await asyncio.gather(*writes, return_exceptions=True)

    try:
        results = asyncio.run(scenario())
    finally:
        writer.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and "bad write" in str(errors[0])
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM messages")).scalar_one() == 200
    assert writer.commits < 201  # grouped, not one commit per write


def test_a_settlement_changes_only_a_message_still_sending(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING"), row(2, status="SENT_TO_CARRIER")])
        queue.mark_final(c, [(1, "NOT_SENT", "on_unknown=fail"), (2, "NOT_SENT", "on_unknown=fail")], 5,
                         only_sending=True)
        assert (status_of(c, 1), status_of(c, 2)) == ("NOT_SENT", "SENT_TO_CARRIER")


def test_stale_sending_lists_only_messages_sending_since_before_the_cutoff(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", updated_at_ms=100),
                                      row(2, status="SENDING", updated_at_ms=900),
                                      row(3, status="SENT_TO_CARRIER", updated_at_ms=100)])
        assert [m.id for m in queue.stale_sending(c, before_ms=500)] == [1]


def test_one_batch_of_receipts_settles_parts_and_single_messages_alike(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, status="SENDING", segments=2)] +
                  [row(i, status="SENDING") for i in range(2, 6)])
        queue.mark_sent(c, "sim", [(1, "p1", ("p1", "p2"))] + [(i, f"s{i}", ()) for i in range(2, 6)], 1)
        batch = [("p1", "DELIVERED_TO_DEVICE", None), ("s2", "DELIVERED_TO_DEVICE", None),
                 ("p2", "DELIVERED_TO_DEVICE", None), ("s3", "UNDELIVERED", "err:001"),
                 ("s4", "DELIVERED_TO_DEVICE", None), ("unknown", "DELIVERED_TO_DEVICE", None)]
        assert queue.apply_receipts(c, "sim", batch, 2) == 1  # only the unknown id waits
        assert [status_of(c, i) for i in range(1, 6)] == [
            "DELIVERED_TO_DEVICE", "DELIVERED_TO_DEVICE", "UNDELIVERED", "DELIVERED_TO_DEVICE", "SENT_TO_CARRIER"]


@pytest.mark.skipif(not on_postgresql(), reason="PostgreSQL's claim statement")
def test_a_claim_reads_due_messages_from_the_queue_index_in_order_whatever_the_statistics(engine: Engine) -> None:
    """A claim reads the due messages from the queue index in its own order (priority, due time,
    id) and stops at its limit: no sort of the whole backlog, and no read of every message ever
    sent to the carrier, even planned from statistics of a quiet moment."""
    def delivered(i: int, carrier: str) -> dict:
        return row(i, carrier=carrier, status="DELIVERED_TO_DEVICE", carrier_message_id=f"r{i}")

    with engine.begin() as c:
        c.execute(messages.insert(), [delivered(i, "other") for i in range(1, 3001)])
    with engine.connect() as c:
        c.execute(text("ANALYZE messages"))  # statistics of a quiet moment: nothing PENDING, nothing to "sim"
        c.commit()
    with engine.begin() as c:  # then a history with "sim", and a burst
        c.execute(messages.insert(), [delivered(i, "sim") for i in range(3001, 9001)])
        c.execute(messages.insert(), [row(i, next_attempt_at_ms=i) for i in range(9001, 11001)])
    params = {"now": 10**13, "limit": 100, "node": 512, "carriers": ["sim"], "any_carrier": False}
    with engine.begin() as c:
        c.execute(queue._NO_BITMAP_SCANS)  # as claim_pending does
        plan = "\n".join(r[0] for r in c.execute(text("EXPLAIN " + queue._CLAIM_PG.text), params))
        c.execute(queue._BITMAP_SCANS_AGAIN)
        picking = plan.split("CTE refused")[0]
        assert "Index Scan using ix_messages_queue" in picking, plan
        assert "ix_messages_carrier_ref" not in picking and "Sort" not in picking, plan
        claimed = queue.claim_pending(c, now_ms=10**13, limit=100, node=512, carriers=["sim"])
    assert [m.id for m in claimed] == list(range(9001, 9101))
