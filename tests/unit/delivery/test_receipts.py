"""Receipts handed in together are stored in one write, and every caller learns the outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mecm.delivery.receipts import Receipts
from mecm.errors import StoreError
from mecm.store import engine as store_engine
from mecm.store import queue
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter
from tests.unit.store.test_queue import row


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    e = store_engine.make_engine(f"sqlite:///{tmp_path / 'r.db'}", create=True)
    store_engine.upgrade(e, create=True)
    with e.begin() as c:
        c.execute(messages.insert(), [row(i, status="SENDING") for i in range(1, 51)])
        queue.mark_sent(c, "sim", [(i, f"ref-{i}", ()) for i in range(1, 51)], 1)
    yield e
    e.dispose()


async def test_concurrent_receipts_share_one_write(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    receipts = Receipts(writer)
    try:
        await asyncio.gather(*(receipts.deliver("sim", [(f"ref-{i}", "DELIVERED_TO_DEVICE", None)])
                               for i in range(1, 51)))
    finally:
        writer.close()
    assert writer.writes == 1  # 50 deliver_sm handlers, one write
    assert receipts.applied == 50
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM messages WHERE status = 'DELIVERED_TO_DEVICE'")).scalar() == 50


async def test_a_failed_write_fails_every_caller_and_a_cancelled_one_does_not_stop_the_others(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = GroupCommitWriter(engine)
    receipts = Receipts(writer)

    def broken(*_args: object) -> int:
        raise RuntimeError("disk full")

    try:
        monkeypatch.setattr(queue, "apply_receipts", broken)
        calls = [asyncio.ensure_future(receipts.deliver("sim", [(f"ref-{i}", "UNDELIVERED", None)])) for i in (1, 2)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results)  # neither acknowledges: the SMSC resends

        monkeypatch.undo()
        first = asyncio.ensure_future(receipts.deliver("sim", [("ref-3", "DELIVERED_TO_DEVICE", None)]))
        second = asyncio.ensure_future(receipts.deliver("sim", [("ref-4", "DELIVERED_TO_DEVICE", None)]))
        await asyncio.sleep(0)
        first.cancel()
        await second
    finally:
        writer.close()
    with engine.connect() as c:
        done = c.execute(text("SELECT id FROM messages WHERE status = 'DELIVERED_TO_DEVICE' ORDER BY id")).scalars()
        assert list(done) == [3, 4]  # the cancelled caller's receipt was stored with the other's
