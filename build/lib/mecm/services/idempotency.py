"""Idempotency keys (SPEC section 9): the key is stored in the transaction that stores the message,
so a request either left both (its retry is answered from the key) or neither (its retry sends).

A ``Claim`` is what a send with a key carries to the service: the key, the request's fingerprint,
and how to turn the service's result (a MessageView, a PinView, a stored MO row) into the answer to
keep. ``guarding`` wraps the service's write so that it first takes the key; when the key is already
held (another request with it committed first, or came earlier in the same grouped transaction) it
raises ``KeyTaken`` with the holder's answer and writes nothing.

Raising inside a grouped write rolls back the whole group, which the writer then commits again one
write per transaction (store/writer.py): the other requests still commit, and ``KeyTaken`` reaches
only its own caller. That costs a few extra commits, and only when two requests with one key race.

``Sweeper`` deletes keys past the window a bounded batch at a time, so a sweep never holds the
write lock for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from mecm.domain.idempotency import PARAMETER
from mecm.errors import InvalidParameter
from mecm.store import idempotency as store
from mecm.store.idempotency import StoredAnswer
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0
SWEEP_BATCH = 5000


class KeyTaken(InvalidParameter):
    """The key is held by a live answer (``stored``). Whoever sent the claim turns this into a replay
    when the fingerprints match; left as it is, it answers INVALID_PARAMETER naming the key."""

    def __init__(self, stored: StoredAnswer) -> None:
        super().__init__(PARAMETER, "already used for another request")
        self.stored = stored


@dataclass(frozen=True)
class Claim:
    workspace_id: int
    key: str
    method: str
    fingerprint: str
    now_ms: int
    window_ms: int
    answer_of: Callable[[Any], str] | None = None  # the service's result -> the answer to store

    @property
    def since_ms(self) -> int:
        """Keys stored before this are past the window: absent."""
        return self.now_ms - self.window_ms

    def answering(self, answer_of: Callable[[Any], str]) -> Claim:
        return replace(self, answer_of=answer_of)

    def answer(self, result: Any) -> str:
        """The answer to store for the service's ``result``."""
        if self.answer_of is None:
            raise TypeError("a claim must know how to make its answer")
        return self.answer_of(result)

    def take(self, connection: Connection, answer: str, message_id: int) -> None:
        """Store the key with ``answer``, or raise KeyTaken."""
        row = {
            "workspace_id": self.workspace_id, "key": self.key, "method": self.method,
            "fingerprint": self.fingerprint, "message_id": message_id, "answer": answer,
            "created_at_ms": self.now_ms,
        }
        holder = store.take(connection, row, self.since_ms)
        if holder is not None:
            raise KeyTaken(holder)

    def guarding(self, write: Callable[[Connection], Any], result: Any, message_id: int) -> Callable[[Connection], Any]:
        """``write`` preceded, in its transaction, by taking the key. The answer is made here, before
        the writer thread runs it: rendering and sealing do not lengthen the transaction."""
        answer = self.answer(result)

        def guarded(connection: Connection) -> Any:
            self.take(connection, answer, message_id)
            return write(connection)

        return guarded


class Sweeper:
    """Deletes the keys past the window, every ``every_s``; one process per deployment runs it."""

    def __init__(self, writer: GroupCommitWriter, window_s: int, *, every_s: float = SWEEP_EVERY_S,
                 batch: int = SWEEP_BATCH, clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        self._window_ms = window_s * 1000
        self._every_s = every_s
        self._batch = batch
        self._clock = clock

    async def sweep_once(self) -> int:
        """Delete every expired key, a batch per transaction; how many went."""
        before = int(self._clock() * 1000) - self._window_ms
        total = 0
        if not await self._writer.read(lambda c: store.any_expired(c, before)):
            return 0  # nothing to delete: no write transaction
        while True:
            deleted = await self._writer.write(lambda c: store.delete_expired(c, before, self._batch), can_wait=True)
            total += deleted
            if deleted < self._batch:
                return total

    async def run(self) -> None:
        while True:
            try:
                deleted = await self.sweep_once()
                if deleted:
                    log.info("%d idempotency keys past their window deleted", deleted)
            except Exception:  # noqa: BLE001 - the keys stay ignored; the next sweep tries again
                log.exception("deleting expired idempotency keys failed")
            await asyncio.sleep(self._every_s)
