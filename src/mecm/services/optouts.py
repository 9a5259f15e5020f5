"""Who is opted out, as an API process sees it: answering a send NOT_SENT without a database read.

Every send asks "is this subscriber opted out of this workspace?". A read per send would cost more
than the send's own share of its commit, so each API process keeps the answer in memory: a snapshot
of ``opt_outs`` at start, then the ``opt_out_events`` after it, read in order. It reads them

- at once, for an opt-out or opt-in this process stored itself (a STOP fired through the API);
- when the delivery worker signals that it stored one (a STOP from a carrier; delivery/worker_link);
- and every ``catalog_refresh_s`` in any case, in case a signal was lost.

This view decides only the answer to the send. What reaches a carrier is decided by the dispatcher,
which reads ``opt_outs`` in the transaction that claims each message (store/queue.py): a send that
comes between a STOP and this view learning of it is answered PENDING, then refused NOT_SENT there,
and never reaches the carrier.

Memory: about 100 bytes per opted-out subscriber (100,000 opt-outs: some 10 MB).
"""

from __future__ import annotations

import asyncio
import logging

from mecm.store import optouts as store
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class OptOutView:
    def __init__(self) -> None:
        self._out: set[tuple[int, str]] = set()
        self._seq = 0
        self._loaded = False
        self._refreshing: asyncio.Lock | None = None

    def is_opted_out(self, workspace_id: int, subscriber: str) -> bool:
        return (workspace_id, subscriber) in self._out

    def __len__(self) -> int:
        return len(self._out)

    async def refresh(self, writer: GroupCommitWriter) -> None:
        """Catch up with the events stored since the last refresh (the whole state, the first time)."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:  # one catch-up at a time, so events apply in order, once
            if not self._loaded:
                self._seq, self._out = await writer.read_control(store.snapshot)
                self._loaded = True
            while True:
                events = await writer.read_control(lambda c: store.events_after(c, self._seq))
                for seq, workspace_id, subscriber, opted_out in events:
                    if opted_out:
                        self._out.add((workspace_id, subscriber))
                    else:
                        self._out.discard((workspace_id, subscriber))
                    self._seq = seq
                if len(events) < 10_000:
                    return
