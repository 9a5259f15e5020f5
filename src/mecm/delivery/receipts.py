"""The receipt path: every connector's receipts end here and are stored with grouped commits.

A receipt for a carrier message id not stored yet (it beat its submit response) is buffered in
``pending_receipts`` and applied when the id arrives (store.queue.mark_sent). A receipt never moves a
final status.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from mecm.store import queue
from mecm.store.writer import GroupCommitWriter


class Receipts:
    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer
        self.applied = 0
        self.buffered = 0

    async def deliver(self, carrier: str, receipts: Sequence[tuple[str, str, str | None]]) -> None:
        now = int(time.time() * 1000)
        buffered = await self._writer.write(lambda c: queue.apply_receipts(c, carrier, receipts, now))
        self.applied += len(receipts) - buffered
        self.buffered += buffered
