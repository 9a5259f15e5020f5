"""A PIN message's sealed text in the queue: every claim brings it along (a retry needs it again),
and it is erased once the carrier took the message or it is final."""

from __future__ import annotations

from sqlalchemy import Engine, text

from mecm.store import queue
from mecm.store.tables import messages
from tests.unit.store.test_queue import row


def sealed_of(engine: Engine, message_id: int) -> str | None:
    with engine.connect() as c:
        return c.execute(text("SELECT sealed_text FROM messages WHERE id = :i"), {"i": message_id}).scalar_one()


def test_claims_bring_the_sealed_text_and_a_retry_keeps_it(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, kind="pin", text="Code ****", sealed_text="TOKEN-1"),
                                      row(2, sealed_text=None)])
        claimed = {m.id: m for m in queue.claim_pending(c, now_ms=1000, limit=10)}
        assert (claimed[1].text, claimed[1].sealed_text) == ("Code ****", "TOKEN-1")
        assert claimed[2].sealed_text is None
        queue.mark_retry(c, [(1, 0, "try again")], now_ms=1000)
        (again,) = queue.claim_pending(c, now_ms=1000, limit=10)
        assert again.sealed_text == "TOKEN-1"
        assert {m.id: m.sealed_text for m in queue.in_doubt(c)} == {1: "TOKEN-1", 2: None}
    assert "TOKEN" not in repr(again) and "Code" not in repr(again)  # a logged Claimed shows neither


def test_the_sealed_text_is_erased_once_not_needed(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [
            row(i, kind="pin", sealed_text=f"TOKEN-{i}", status="SENDING") for i in (1, 2, 3)
        ] + [row(4, kind="pin", sealed_text="TOKEN-4", expires_at_ms=500)])
        queue.mark_sent(c, "sim", [(1, "ref-1", ())], now_ms=1000)
        queue.mark_final(c, [(2, "NOT_SENT", "refused")], now_ms=1000)
        queue.mark_final(c, [(3, "UNDELIVERED", None)], now_ms=1000, only_sending=True)
        assert queue.expire_overdue(c, now_ms=1000) == 1
    assert [sealed_of(engine, i) for i in (1, 2, 3, 4)] == [None, None, None, None]
