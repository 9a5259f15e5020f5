"""The idempotency_keys statements, and a claim taken inside the group-commit writer: one request
per key stores, a taken key fails only its own write in a grouped transaction, keys past the window
are reused and swept."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection, Engine, text

from mecm.services.idempotency import Claim, KeyTaken, Sweeper
from mecm.store import idempotency as store
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter, Insert
from tests.unit.store.test_queue import row

DAY_MS = 86_400_000


def key_row(key: str = "K", *, workspace_id: int = 1, fingerprint: str = "f1", message_id: int = 1,
            created_at_ms: int = 1_000_000_000) -> dict:
    return {"workspace_id": workspace_id, "key": key, "method": "sendSMS", "fingerprint": fingerprint,
            "message_id": message_id, "answer": f"answer {message_id}", "created_at_ms": created_at_ms}


def test_a_key_is_taken_once_and_then_found(engine: Engine) -> None:
    now = 1_000_000_000
    with engine.begin() as c:
        assert store.find(c, 1, "K", now - DAY_MS) is None
        assert store.take(c, key_row(message_id=1), now - DAY_MS) is None
        holder = store.take(c, key_row(fingerprint="f2", message_id=2), now - DAY_MS)
        assert (holder.fingerprint, holder.message_id, holder.answer) == ("f1", 1, "answer 1")
        assert store.find(c, 1, "K", now - DAY_MS) == holder
        # Per workspace: the same key elsewhere is another key.
        assert store.take(c, key_row(workspace_id=2, message_id=3), now - DAY_MS) is None
    assert "answer" not in repr(holder)  # a sealed PIN answer never reaches a log line


def test_a_key_past_the_window_is_absent_and_taken_again(engine: Engine) -> None:
    first = 1_000_000_000
    later = first + DAY_MS + 1  # one millisecond past the window
    with engine.begin() as c:
        store.take(c, key_row(message_id=1, created_at_ms=first), first - DAY_MS)
        assert store.find(c, 1, "K", first + DAY_MS - DAY_MS) is not None  # exactly 24 h: still live
        assert store.find(c, 1, "K", later - DAY_MS) is None
        assert store.take(c, key_row(fingerprint="f2", message_id=2, created_at_ms=later), later - DAY_MS) is None
        found = store.find(c, 1, "K", later - DAY_MS)
        assert (found.fingerprint, found.message_id, found.created_at_ms) == ("f2", 2, later)


def test_expired_keys_are_deleted_a_batch_at_a_time(engine: Engine) -> None:
    with engine.begin() as c:
        for i in range(5):
            store.take(c, key_row(f"old-{i}", created_at_ms=100 + i), 0)
        store.take(c, key_row("live", created_at_ms=1000), 0)
        assert store.delete_expired(c, before_ms=500, limit=3) == 3
        assert store.delete_expired(c, before_ms=500, limit=3) == 2
        assert store.delete_expired(c, before_ms=500, limit=3) == 0
        keys = c.execute(text("SELECT key FROM idempotency_keys")).scalars().all()
    assert keys == ["live"]


async def test_the_sweeper_deletes_what_its_clock_says_is_past_the_window(engine: Engine) -> None:
    with engine.begin() as c:
        for i in range(7):
            store.take(c, key_row(f"k{i}", created_at_ms=i * 1000), 0)
    now_s = [3.5 + 10.0]  # a window of 10 s: the keys made before 3.5 s are past it
    writer = GroupCommitWriter(engine)
    try:
        sweeper = Sweeper(writer, window_s=10, batch=2, clock=lambda: now_s[0])
        assert await sweeper.sweep_once() == 4
        commits = writer.commits
        assert await sweeper.sweep_once() == 0
        assert writer.commits == commits  # nothing to delete: no transaction (an idle worker writes nothing)
        now_s[0] = 100.0
        assert await sweeper.sweep_once() == 3
    finally:
        writer.close()


def claim(key: str, fingerprint: str, now_ms: int = 1_000_000_000) -> Claim:
    return Claim(1, key, "sendSMS", fingerprint, now_ms, DAY_MS).answering(lambda view: f"tree of {view}")


def insert(message_id: int):  # noqa: ANN201
    return lambda connection: connection.execute(messages.insert(), [row(message_id)])


def stored_ids(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return c.execute(text("SELECT id FROM messages ORDER BY id")).scalars().all()


async def test_a_taken_key_fails_only_its_own_write_in_a_grouped_transaction(engine: Engine) -> None:
    """Two requests with one key land in one grouped transaction with other requests' writes: the
    first stores, the second gets the first's answer and writes nothing, the others all commit."""
    writer = GroupCommitWriter(engine)
    started, release = threading.Event(), threading.Event()

    def hold(connection: Connection) -> None:  # keeps the writer busy while the batch queues
        started.set()
        release.wait(10)

    try:
        blocker = asyncio.ensure_future(writer.write(hold))
        while not started.is_set():
            await asyncio.sleep(0.001)
        writes = [
            writer.write(claim("K", "f1").guarding(insert(1), "first", 1)),
            writer.write(Insert(messages, [row(2)])),
            writer.write(claim("K", "f1").guarding(insert(3), "second", 3)),
            writer.write(claim("L", "f9").guarding(insert(4), "other key", 4)),
            writer.write(Insert(messages, [row(5)])),
        ]
        tasks = [asyncio.ensure_future(w) for w in writes]
        # One turn of the loop runs each task to its first wait, which comes after it queued its
        # write: every write is then queued behind the blocker, to be committed as one batch.
        await asyncio.sleep(0)
        release.set()
        await blocker
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        writer.close()
    taken = results[2]
    assert isinstance(taken, KeyTaken)
    assert (taken.stored.message_id, taken.stored.answer) == (1, "tree of first")
    assert [isinstance(r, Exception) for i, r in enumerate(results) if i != 2] == [False] * 4
    assert stored_ids(engine) == [1, 2, 4, 5]


async def test_concurrent_claims_of_one_key_store_one_message(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    try:
        results = await asyncio.gather(
            *(writer.write(claim("K", "f1").guarding(insert(i), f"answer {i}", i)) for i in range(1, 17)),
            return_exceptions=True)
    finally:
        writer.close()
    winners = [r for r in results if not isinstance(r, KeyTaken)]
    assert len(winners) == 1
    (stored,) = stored_ids(engine)
    assert {r.stored.message_id for r in results if isinstance(r, KeyTaken)} == {stored}


def test_a_claim_must_know_its_answer() -> None:
    bare = Claim(1, "K", "sendSMS", "f1", 0, DAY_MS)
    with pytest.raises(TypeError):
        bare.guarding(insert(1), "view", 1)
