"""The receipt path: every connector's receipts end here and are stored with grouped commits.

An SMSC sends receipts one deliver_sm at a time, and each is acknowledged only once stored. So the
receipts handed in during one event-loop turn are stored together, in one write, and every caller
returns when that write is committed (or fails with it, and its carrier sends the receipt again).

A receipt for a carrier message id not stored yet (it beat its submit response) is buffered in
``pending_receipts`` and applied when the id arrives (store.queue.mark_sent). A receipt never moves a
final status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from mecm.store import queue
from mecm.store.writer import GroupCommitWriter

Receipt = tuple[str, str, str | None]  # (carrier message id, final status, detail)


class Receipts:
    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer
        self._waiting: dict[str, list[Receipt]] = {}  # by carrier, for the next write
        self._stored: asyncio.Future[None] | None = None  # settled when the next write is committed
        self._writes: set[asyncio.Task[None]] = set()
        self.applied = 0
        self.buffered = 0

    async def deliver(self, carrier: str, receipts: Sequence[Receipt]) -> None:
        """Store the receipts; returns once they are committed."""
        if self._stored is None:
            loop = asyncio.get_running_loop()
            self._stored = loop.create_future()
            loop.call_soon(self._flush)  # after the other handlers of this turn have added theirs
        stored = self._stored
        self._waiting.setdefault(carrier, []).extend(receipts)
        await asyncio.shield(stored)  # one caller cancelled must not cancel the others' write

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        stored, self._stored = self._stored, None
        assert stored is not None
        task = asyncio.ensure_future(self._write(waiting, stored))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, waiting: dict[str, list[Receipt]], stored: asyncio.Future[None]) -> None:
        now = int(time.time() * 1000)

        def apply(connection) -> int:  # noqa: ANN001
            return sum(queue.apply_receipts(connection, carrier, rs, now) for carrier, rs in waiting.items())

        try:
            buffered = await self._writer.write(apply)
        except Exception as error:  # noqa: BLE001 - handed to every caller, whose carrier resends
            stored.set_exception(error)
            return
        self.applied += sum(len(rs) for rs in waiting.values()) - buffered
        self.buffered += buffered
        stored.set_result(None)
