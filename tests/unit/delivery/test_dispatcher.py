"""The dispatcher against a real SQLite queue and an in-memory carrier: a message whose outcome's
write failed while the worker ran is settled by the stale sweep, and a message in hand is not."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from sqlalchemy import Engine, text

from mecm.config import Settings
from mecm.delivery.connectors.base import Connector, Outcome
from mecm.delivery.dispatcher import Dispatcher
from mecm.store.queue import Claimed
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter
from tests.unit.store.test_queue import row
from tests.support.waiting import wait_until_async


class MemoryCarrier(Connector):
    """Accepts everything; remembers what it took; answers query() from that memory; can be made
    to hold its answers to submits (a submit in flight) and to queries (a settlement under way)."""

    def __init__(self) -> None:
        super().__init__("sim", {"on_unknown": "query"})
        self.taken: dict[int, str] = {}
        self.submits: list[int] = []
        self.queries: list[int] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.hold_queries = asyncio.Event()
        self.hold_queries.set()

    async def submit(self, message: Claimed) -> Outcome:
        self.submits.append(message.id)
        await self.hold.wait()
        self.taken[message.id] = f"ref-{message.id}"
        return Outcome.accepted(self.taken[message.id])

    async def query(self, message: Claimed) -> Outcome:
        self.queries.append(message.id)
        await self.hold_queries.wait()
        ref = self.taken.get(message.id)
        return Outcome.unknown() if ref is None else Outcome.accepted(ref)


def status_of(engine: Engine, message_id: int) -> tuple[str, str | None]:
    with engine.connect() as c:
        return tuple(c.execute(text("SELECT status, carrier_message_id FROM messages WHERE id = :i"),
                               {"i": message_id}).one())


async def test_a_message_left_sending_while_running_is_settled_by_the_stale_sweep(engine: Engine) -> None:
    settings = dataclasses.replace(Settings(), stale_sending_s=60)
    writer = GroupCommitWriter(engine)
    carrier = MemoryCarrier()
    dispatcher = Dispatcher(settings, writer, {"sim": carrier})
    running = asyncio.ensure_future(dispatcher.run())
    try:
        # Past the start's own settling of what a stop left SENDING (nothing here): a turn of its loop.
        await wait_until_async(lambda: dispatcher.idle_polls > 0)
        now = int(time.time() * 1000)
        carrier.taken[1] = "ref-1"  # the carrier has message 1; recording its answer failed
        with engine.begin() as c:
            c.execute(messages.insert(), [
                row(1, status="SENDING", updated_at_ms=now - 120_000),  # stale: nobody has it in hand
                row(2, status="SENDING", updated_at_ms=now - 120_000),  # stale too; the carrier never saw it
                row(3, status="SENDING", updated_at_ms=now),  # recent: a submit may still answer
            ])
        # The carrier is slow to answer the settlements' queries, so that the second sweep surely
        # runs while they are under way (had they already ended, their messages would be settled
        # and no longer SENDING; in between, the sweep's read may race the settlement's write).
        carrier.hold_queries.clear()
        assert await dispatcher.settle_stale() == 2
        await wait_until_async(lambda: sorted(carrier.queries) == [1, 2])
        assert await dispatcher.settle_stale() == 0  # a second sweep finds them being settled
        carrier.hold_queries.set()
        await wait_until_async(lambda: status_of(engine, 1)[0] != "SENDING"
                               and status_of(engine, 2)[0] == "SENT_TO_CARRIER")
        assert status_of(engine, 1) == ("SENT_TO_CARRIER", "ref-1")  # asked, not resent
        assert status_of(engine, 2) == ("SENT_TO_CARRIER", "ref-2")  # never received: sent now, once
        assert carrier.submits == [2]
        assert status_of(engine, 3) == ("SENDING", None)
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()


async def test_the_stale_sweep_leaves_a_submit_in_flight_alone(engine: Engine) -> None:
    settings = dataclasses.replace(Settings(), stale_sending_s=0)  # everything SENDING looks stale
    writer = GroupCommitWriter(engine)
    carrier = MemoryCarrier()
    carrier.hold.clear()  # the carrier takes its time to answer
    dispatcher = Dispatcher(settings, writer, {"sim": carrier})
    with engine.begin() as c:
        c.execute(messages.insert(), [row(7, status="PENDING")])
    running = asyncio.ensure_future(dispatcher.run())
    try:
        await wait_until_async(lambda: carrier.submits)
        assert status_of(engine, 7)[0] == "SENDING"
        assert await dispatcher.settle_stale() == 0  # claimed by this dispatcher: in hand
        carrier.hold.set()
        await wait_until_async(lambda: status_of(engine, 7)[0] == "SENT_TO_CARRIER")
        assert status_of(engine, 7) == ("SENT_TO_CARRIER", "ref-7")
        assert carrier.submits == [7]
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()


class TextCarrier(MemoryCarrier):
    """Remembers the text of each submit, as a carrier receives it."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[int, str] = {}

    async def submit(self, message: Claimed) -> Outcome:
        self.texts[message.id] = message.text
        return await super().submit(message)


async def test_a_sealed_text_is_opened_for_the_submit_and_never_stored_open(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    carrier = TextCarrier()
    opened = {"SEALED(Code 4821)": "Code 4821"}
    dispatcher = Dispatcher(Settings(), writer, {"sim": carrier}, unseal=opened.__getitem__)
    with engine.begin() as c:
        c.execute(messages.insert(), [
            row(1, kind="pin", text="Code ****", sealed_text="SEALED(Code 4821)"),
            row(2, kind="pin", text="Code ****", sealed_text="SEALED BY ANOTHER KEY"),  # cannot be opened
            row(3, text="plain", sealed_text=None),
        ])
    running = asyncio.ensure_future(dispatcher.run())
    try:
        await wait_until_async(lambda: status_of(engine, 1)[0] == "SENT_TO_CARRIER"
                               and status_of(engine, 2)[0] == "NOT_SENT" and 3 in carrier.texts)
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()
    assert carrier.texts == {1: "Code 4821", 3: "plain"}  # never the masked text, nor message 2 at all
    assert status_of(engine, 2)[0] == "NOT_SENT"
    with engine.connect() as c:
        stored = c.execute(text("SELECT id, text, sealed_text FROM messages ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [(1, "Code ****", None), (2, "Code ****", None), (3, "plain", None)]


class SteppingClock:
    """Each reading is 60 s after the one before: every turn of the dispatcher's loop is due for
    every sweep (expiry, buffered receipts, stale SENDING), so the idle turns below cover them all."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


async def test_an_idle_dispatcher_commits_nothing_over_many_polls_and_still_finds_due_work(engine: Engine) -> None:
    now = int(time.time() * 1000)
    with engine.begin() as c:  # work that is not due, and a message at the carrier awaiting its receipt
        c.execute(messages.insert(), [row(1, next_attempt_at_ms=now + 3_600_000),
                                      row(2, status="SENT_TO_CARRIER", carrier_message_id="ref-2",
                                          updated_at_ms=now)])
    writer = GroupCommitWriter(engine)
    carrier = MemoryCarrier()
    dispatcher = Dispatcher(Settings(), writer, {"sim": carrier}, clock=SteppingClock(), idle_poll_s=0.01)
    running = asyncio.ensure_future(dispatcher.run())
    try:
        await wait_until_async(lambda: dispatcher.idle_polls >= 50)
        assert writer.commits == 0  # 50 polls, each with every sweep: not one transaction
        # It still sees what becomes due without being told (no wake-up), and expires what is overdue.
        # Message 4 is not due (only its expiry can settle it): one that was due as well could be
        # claimed in the turn whose sweep ran just before this insert, and be sent, late, not expired.
        with engine.begin() as c:
            c.execute(messages.insert(), [row(3, next_attempt_at_ms=now),
                                          row(4, next_attempt_at_ms=now + 3_600_000, expires_at_ms=now)])
        await wait_until_async(lambda: status_of(engine, 3)[0] == "SENT_TO_CARRIER"
                               and status_of(engine, 4)[0] == "EXPIRED")
        assert carrier.submits == [3]
        settled = dispatcher.idle_polls  # its last claim after the batch (found nothing) comes first
        await wait_until_async(lambda: dispatcher.idle_polls >= settled + 2)
        polls, commits = dispatcher.idle_polls, writer.commits
        await wait_until_async(lambda: dispatcher.idle_polls >= polls + 50)
        assert writer.commits == commits  # idle again: nothing more written
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()
    assert status_of(engine, 1)[0] == "PENDING" and status_of(engine, 2)[0] == "SENT_TO_CARRIER"


async def test_a_message_to_a_disabled_carrier_waits_with_its_attempt_unspent(engine: Engine) -> None:
    """The runtime marks a disabled carrier unavailable (runtime.py): its queued messages go back to
    PENDING, due later, with the claim's attempt given back, never BAD_CARRIER."""
    writer = GroupCommitWriter(engine)
    dispatcher = Dispatcher(Settings(), writer, {})
    dispatcher.unavailable["sim"] = "the carrier is disabled"
    with engine.begin() as c:
        c.execute(messages.insert(), [row(9, status="PENDING")])
    running = asyncio.ensure_future(dispatcher.run())
    try:
        def waiting() -> tuple | None:
            with engine.connect() as c:
                found = c.execute(text("SELECT status, attempts, status_detail, next_attempt_at_ms FROM messages "
                                       "WHERE id = 9 AND status_detail IS NOT NULL")).first()
            return None if found is None else tuple(found)

        status, attempts, detail, due = await wait_until_async(waiting)
        assert (status, attempts) == ("PENDING", 0) and "the carrier is disabled" in detail
        assert due > time.time() * 1000  # tried again later, not at once
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()


async def test_a_paused_broadcasts_claimed_messages_are_withheld_and_held_until_it_is_resumed(engine: Engine) -> None:
    """Claimed before the pause, submitted one at a time: the one in flight goes out, the others go
    back PENDING, held, no attempt spent; resumed, they go out, each once."""
    from mecm.domain.broadcast_state import HELD_MS
    from mecm.store import admin, broadcasts, lists

    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        listed = lists.create_list(c, ws, "all")
        b = broadcasts.create(c, listed["id"], "12345", "hi")["id"]
        c.execute(messages.insert(), [row(i, recipient=f"5841410000{i:02d}", broadcast_id=b) for i in (1, 2, 3)])
    writer = GroupCommitWriter(engine)
    carrier = MemoryCarrier()
    carrier.submit_concurrency = 1
    carrier.hold.clear()
    dispatcher = Dispatcher(Settings(), writer, {"sim": carrier})
    running = asyncio.ensure_future(dispatcher.run())
    try:
        await wait_until_async(lambda: carrier.submits == [1])  # 1 in flight; 2 and 3 claimed, waiting their turn
        with engine.begin() as c:
            assert broadcasts.pause(c, b) == 0  # nothing PENDING: the worker has them all
        claimed = Claimed(2, "sim", "12345", "584141000002", "hi", "", "GSM7", 1, 1, 0, None, broadcast_id=b)
        await wait_until_async(lambda: dispatcher.paused_broadcasts.withhold(claimed) is not None)
        carrier.hold.set()
        await wait_until_async(lambda: status_of(engine, 3)[0] == "PENDING")
        assert status_of(engine, 1)[0] == "SENT_TO_CARRIER" and carrier.submits == [1]
        with engine.connect() as c:
            held = c.execute(text("SELECT id, attempts, next_attempt_at_ms >= :held, status_detail FROM messages"
                                  " WHERE id IN (2, 3) ORDER BY id"), {"held": HELD_MS}).all()
        assert [tuple(h) for h in held] == [(2, 0, True, "Broadcast paused"), (3, 0, True, "Broadcast paused")]

        with engine.begin() as c:
            assert broadcasts.resume(c, b, "queued", int(time.time() * 1000)) == 2
        dispatcher.wake()
        await wait_until_async(lambda: status_of(engine, 3)[0] == "SENT_TO_CARRIER")
        assert sorted(carrier.submits) == [1, 2, 3]
    finally:
        await dispatcher.stop()
        running.cancel()
        writer.close()
