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
