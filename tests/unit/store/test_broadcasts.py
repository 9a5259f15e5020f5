"""A broadcast's pages on a real SQLite database: the cursor moves with its page, or nothing does."""

from __future__ import annotations

from sqlalchemy import Engine, text

from mecm.store import admin, broadcasts, lists
from tests.unit.store.test_queue import row


def test_a_page_is_queued_with_its_cursor_and_a_stale_cursor_writes_nothing(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        listed = lists.create_list(c, ws, "all")
        for n in ("584141000001", "584141000002"):
            lists.join(c, listed["id"], n, via="admin")
        b = broadcasts.create(c, listed["id"], "12345", "hi")
        page = [row(1, recipient="584141000001", broadcast_id=b["id"])]
        assert broadcasts.record_page(c, b["id"], "", "584141000001", page, 0, False, 5)
        # A second worker (or a replay after a crash) holding the old cursor writes nothing.
        assert not broadcasts.record_page(c, b["id"], "", "584141000001", [row(2, recipient="584141000001",
                                                                                broadcast_id=b["id"])], 0, False, 6)
        assert broadcasts.record_page(c, b["id"], "584141000001", "584141000002", [], 1, True, 7)
        state = c.execute(text("SELECT state, cursor, enqueued, skipped FROM broadcasts")).one()
        assert tuple(state) == ("queued", "584141000002", 1, 1)
        assert c.execute(text("SELECT COUNT(*) FROM messages")).scalar_one() == 1
        assert lists.members_after(c, listed["id"], "584141000001", 10) == [("584141000002", "{}")]


def test_the_state_shown_says_sending_until_every_message_is_handed_on_then_done(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        listed = lists.create_list(c, ws, "all")
        lists.join(c, listed["id"], "584141000001", via="admin")
        b = broadcasts.create(c, listed["id"], "12345", "hi")
        assert (broadcasts.status(c, b["id"])["state"], broadcasts.status(c, b["id"])["done"]) == ("scheduled", False)
        broadcasts.record_page(c, b["id"], "", "584141000001", [row(1, recipient="584141000001",
                                                                     broadcast_id=b["id"])], 0, True, 5)
    with engine.begin() as c:  # every member queued, its message still waiting for the carrier
        status = broadcasts.status(c, b["id"])
        assert (status["state"], status["done"], status["waiting"]) == ("sending", False, 1)
        assert broadcasts.list_broadcasts(c, ws)[0]["state"] == "sending"
        c.execute(text("UPDATE messages SET status = 'SENT_TO_CARRIER' WHERE id = 1"))
    with engine.begin() as c:  # handed to the carrier: finished, whatever its receipt will say
        status = broadcasts.status(c, b["id"])
        assert (status["state"], status["done"], status["waiting"]) == ("done", True, 0)
        assert broadcasts.list_broadcasts(c, ws)[0]["state"] == "done"
        other = broadcasts.create(c, listed["id"], "12345", "again")
        assert broadcasts.cancel(c, other["id"])["state"] == "cancelled"
        status = broadcasts.status(c, other["id"])
        assert (status["state"], status["done"]) == ("cancelled", True)
        assert [b_["state"] for b_ in broadcasts.list_broadcasts(c, ws)] == ["done", "cancelled"]


def test_a_paused_broadcasts_waiting_messages_are_held_until_it_is_resumed(engine: Engine) -> None:
    """Held: never claimed, not "due" to an idle worker, no validity spent; a message whose submit
    comes back "retry later" while paused is held too; resumed: due now with the validity it had left."""
    from mecm.domain.broadcast_state import HELD_MS
    from mecm.store import queue

    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        listed = lists.create_list(c, ws, "all")
        for n in ("584141000001", "584141000002", "584141000003"):
            lists.join(c, listed["id"], n, via="admin")
        b = broadcasts.create(c, listed["id"], "12345", "hi")
        page = [row(i, recipient=f"58414100000{i}", broadcast_id=b["id"], priority=2, next_attempt_at_ms=100,
                    expires_at_ms=5_000) for i in (1, 2)]
        assert broadcasts.record_page(c, b["id"], "", "584141000002", page, 0, False, 5)
        assert [m.id for m in queue.claim_pending(c, now_ms=1_000, limit=1)] == [1]  # 1 is being submitted
        assert broadcasts.pause(c, b["id"]) == 1  # 2 waited: held
        assert broadcasts.status(c, b["id"])["state"] == "paused"
        # no page is queued while paused: the worker's write finds it paused and writes nothing
        assert not broadcasts.record_page(c, b["id"], "584141000002", "584141000003",
                                          [row(3, recipient="584141000003", broadcast_id=b["id"])], 0, True, 6)
        queue.mark_retry(c, [(1, 2_000, "throttled")], 1_500)  # 1's submit: try again later
        assert queue.claim_pending(c, now_ms=HELD_MS - 1, limit=10) == []
        assert not queue.any_due(c, HELD_MS - 1)
        assert queue.expire_overdue(c, HELD_MS - 1) == 0
        assert broadcasts.pause(c, b["id"]) is None  # already paused: nothing written

        assert broadcasts.resume(c, b["id"], "sending", 10_000) == 2
        times = c.execute(text("SELECT id, next_attempt_at_ms, expires_at_ms FROM messages ORDER BY id")).all()
        assert [tuple(t) for t in times] == [(1, 10_000, 13_000), (2, 10_000, 14_900)]
        assert broadcasts.status(c, b["id"])["state"] == "sending"
        assert {m.id for m in queue.claim_pending(c, now_ms=10_000, limit=10)} == {1, 2}
        assert broadcasts.record_page(c, b["id"], "584141000002", "584141000003",
                                      [row(3, recipient="584141000003", broadcast_id=b["id"])], 0, True, 11)
        assert broadcasts.resume(c, b["id"], "sending", 12_000) is None  # not paused: nothing written


def test_cancelling_gives_back_the_price_of_every_priced_message_it_withdraws(engine: Engine) -> None:
    """A priced broadcast's messages are debited as they are queued; the ones a cancel makes NOT_SENT
    never reached a carrier, so the balance gets their price back (one refund row each), and a message
    a carrier already took keeps its debit."""
    from mecm.store import credit

    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        credit.top_up(c, ws, 1_000_000, "start", now_ms=1)
        listed = lists.create_list(c, ws, "all")
        b = broadcasts.create(c, listed["id"], "12345", "hi")
        queued = [row(i, workspace_id=ws, recipient=f"58414100000{i}", broadcast_id=b["id"]) for i in (1, 2, 3)]
        for message in queued:
            message["price"] = 7500
            message["created_at_ms"] = 2
        assert credit.store_charged(c, [credit.Charge(m) for m in queued]) == [None, None, None]
        c.execute(text("UPDATE messages SET status = 'SENT_TO_CARRIER', carrier_message_id = 'x' WHERE id = 3"))
        assert credit.balance_of(c, ws) == 1_000_000 - 3 * 7500
    with engine.begin() as c:
        assert broadcasts.cancel(c, b["id"])["withdrawn"] == 2
    with engine.begin() as c:
        assert credit.balance_of(c, ws) == 1_000_000 - 7500
        refunds = c.execute(text("SELECT message_id, amount FROM credit_ledger WHERE kind = 'refund' ORDER BY message_id"))
        assert [tuple(r) for r in refunds] == [(1, 7500), (2, 7500)]
