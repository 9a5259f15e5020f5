"""Withholding a paused broadcast's messages that a dispatcher has already claimed.

Pausing a broadcast holds its PENDING messages in the database (domain/broadcast_state.py), but a
worker claims a batch at a time and a paced carrier takes seconds over it: the messages claimed
before the pause would still go out. So while it delivers, a dispatcher reads which broadcasts of
its messages in hand are paused (every ``POLL_S``), and a message of one of them is not submitted
when its turn comes: it goes back to PENDING ("Broadcast paused"), no attempt spent, and held as
the pause held the others (store/queue.py ``mark_retry``) until the broadcast is resumed.

After a pause, at most the submits already under way (a carrier's window) and those begun within
one poll still reach the carrier.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

from mecm.delivery.connectors.base import Outcome, OutcomeKind
from mecm.store import broadcasts as store_broadcasts
from mecm.store.queue import Claimed
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)
POLL_S = 0.25
DETAIL = "Broadcast paused"
_WITHHELD = Outcome(OutcomeKind.RETRY, detail=DETAIL, retry_after_s=0, counts_as_attempt=False)


class PausedBroadcasts:
    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer
        self._in_hand: Counter[int] = Counter()  # broadcast id: its messages in batches being delivered
        self._paused: frozenset[int] = frozenset()

    def claimed(self, batch: Iterable[Claimed]) -> None:
        self._in_hand.update(m.broadcast_id for m in batch if m.broadcast_id is not None)

    def done(self, batch: Iterable[Claimed]) -> None:
        self._in_hand.subtract(m.broadcast_id for m in batch if m.broadcast_id is not None)
        self._in_hand = +self._in_hand  # drop those with none left

    def withhold(self, message: Claimed) -> Outcome | None:
        """For ``Connector.submit_each``: a retry (held) for a paused broadcast's message, else None."""
        return _WITHHELD if message.broadcast_id is not None and message.broadcast_id in self._paused else None

    async def watch(self) -> None:
        """Reads, while broadcast messages are in hand, which of their broadcasts are paused; an idle
        dispatcher reads nothing."""
        while True:
            in_hand = list(self._in_hand)
            try:
                self._paused = await self._writer.read(
                    lambda c: store_broadcasts.paused_among(c, in_hand)) if in_hand else frozenset()
            except Exception:  # noqa: BLE001 - the database failed this once: keep what was known, read again
                log.exception("reading which broadcasts are paused failed")
            await asyncio.sleep(POLL_S)
