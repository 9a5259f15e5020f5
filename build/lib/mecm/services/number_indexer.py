"""Keeps the index of messages by number (store/number_index.py) up with the messages, a piece at a
time, in one process of the deployment (runtime: a singleton). Idle, it reads once every
``every_s`` and writes nothing; behind (a deployment upgraded with a long history, or a burst), it
indexes piece after piece until it has caught up. Each piece is counted again some minutes after
it was indexed, for rows that committed late (store/number_index.py): one more commit per piece,
and its numbers written again only when it gained some.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mecm.store import number_index
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

EVERY_S = 10.0
WRITE_BATCH = 2000  # numbers a transaction: each holds the write lock for a few ms


class NumberIndexer:
    def __init__(self, writer: GroupCommitWriter, *, every_s: float = EVERY_S,
                 clock: Callable[[], float] = time.time, check_after_ms: int = number_index.CHECK_AFTER_MS,
                 **piece_rules: int) -> None:
        self._writer = writer
        self._every_s = every_s
        self._clock = clock
        self._piece_rules = piece_rules  # number_index.next_piece's piece_messages, settle_ms, fill_ms
        self._check_after_ms = check_after_ms

    async def index_once(self) -> int:
        """Index the next piece if one is due; how many messages it held (0: none was due)."""
        now_ms = int(self._clock() * 1000)
        piece = await self._writer.read(lambda c: number_index.next_piece(c, now_ms, **self._piece_rules))
        if piece is None:
            return 0
        await self._write_numbers(piece)
        if not await self._writer.write(lambda c: number_index.register_piece(c, piece, now_ms), can_wait=True):
            return 0  # another process registered it first
        return len(piece.numbers)

    async def check_once(self) -> bool:
        """Count the oldest piece due for its check again, and index what it gained; False: none was due."""
        now_ms = int(self._clock() * 1000)
        check = await self._writer.read(
            lambda c: number_index.piece_to_check(c, now_ms, check_after_ms=self._check_after_ms))
        if check is None:
            return False
        if check.gained:  # rewritten whole: the rows already there are left as they are
            await self._write_numbers(check.piece)
            log.warning("%d messages committed over a minute after their ids were made were indexed by number "
                        "late (piece from id %d)", check.gained, check.piece.first_id)
        await self._writer.write(lambda c: number_index.mark_checked(c, check, now_ms), can_wait=True)
        return True

    async def _write_numbers(self, piece: number_index.Piece) -> None:
        for start in range(0, len(piece.numbers), WRITE_BATCH):
            await self._writer.write(lambda c: number_index.write_numbers(c, piece, start, start + WRITE_BATCH),  # noqa: B023
                                     can_wait=True)

    async def run(self) -> None:
        while True:
            try:
                while await self.index_once() or await self.check_once():
                    pass
            except Exception:  # noqa: BLE001 - a search reads the tail meanwhile; the next round tries again
                log.exception("indexing messages by number failed")
            await asyncio.sleep(self._every_s)
