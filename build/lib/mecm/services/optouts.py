"""Who is opted out, as an API process sees it: answering a send NOT_SENT without a database read.

Every send asks "is this subscriber opted out of this workspace?". A read per send would cost more
than the send's own share of its commit, so each API process keeps the answer in memory: a snapshot
of ``opt_outs`` at start, then the ``opt_out_events`` after it, read in order (``refresh``).

What a send sees (``catch_up``, awaited before each send is decided): every opt-out and opt-in whose
storing was answered before the send came, by any process of the deployment.

- Stored here (a STOP fired through this process's API, or an SMPP MO in an all-in-one process): the
  view is refreshed before fireMessage answers, or the deliver_sm is acknowledged (``changed_here``).
- On SQLite, stored by another process (the delivery worker's STOP from a carrier, ``mecm admin
  optout``): that process announces it in a file beside the database after its commit and before its
  answer (store/optout_signal.py). A send reads the file (a ``pread``, no database read) and, when it
  changed, waits for a refresh that starts after it came.
- On PostgreSQL, other processes may run on other machines, so no file can tell: every send waits
  for a refresh that starts after it came. Refreshes are shared: one read of the events after the
  view's last (an index lookup that returns nothing when nothing changed) serves every send that
  came while the one before it ran, and these reads begin at least ``PG_CATCH_UP_INTERVAL_S``
  apart: under load a read per batch of sends, at most 200 a second, never one per send.

Besides, the view is refreshed when the delivery worker signals a STOP from a carrier
(delivery/worker_link), and every ``catalog_refresh_s``, so it stays near the database between sends.

This view decides only the answer to the send. What reaches a carrier is decided by the dispatcher,
which reads ``opt_outs`` in the transaction that claims each message (store/queue.py): a send that
comes at the same time as a STOP, and is answered PENDING, is refused NOT_SENT there, and never
reaches the carrier.

Memory: about 100 bytes per opted-out subscriber (100,000 opt-outs: some 10 MB).
"""

from __future__ import annotations

import asyncio
import logging

from mecm.store import optouts as store
from mecm.store.optout_signal import OptOutSignal
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


# On PostgreSQL every send waits for a catch-up read begun after it came. Back to back, those reads
# would follow each other as fast as the database answers (a read's CPU, in this process, for every
# few sends); at least 5 ms apart, they are at most 200 a second, and a send waits 2.5 ms more on
# average: less than a PostgreSQL commit, which each send waits for anyway.
PG_CATCH_UP_INTERVAL_S = 0.005


class OptOutView:
    def __init__(self, signal: OptOutSignal | None = None, *, min_interval_s: float = 0.0) -> None:
        """``signal``: the SQLite database's announcement file; None on PostgreSQL.
        ``min_interval_s``: catch-up reads begin at least this far apart (PostgreSQL, where every
        send waits for one: see PG_CATCH_UP_INTERVAL_S)."""
        self._out: set[tuple[int, str]] = set()
        self._seq = 0
        self._loaded = False
        self._refreshing: asyncio.Lock | None = None
        self._signal = signal
        self._seen = signal.read() if signal is not None else b""  # the signal as of the last catch-up
        self._next: asyncio.Future[None] | None = None  # the catch-up refresh not started yet
        self._runner: asyncio.Task[None] | None = None
        self._min_interval_s = min_interval_s
        self._last_read_at = float("-inf")  # loop time the last catch-up read began

    def is_opted_out(self, workspace_id: int, subscriber: str) -> bool:
        return (workspace_id, subscriber) in self._out

    def __len__(self) -> int:
        return len(self._out)

    async def catch_up(self, writer: GroupCommitWriter) -> None:
        """Return once the view holds every opt-out and opt-in whose storing was answered before
        this call, by any process (see the module's docstring). Raises the read's error (the send
        is answered ERROR): a send is not decided on a view that may be stale."""
        if self._signal is not None and self._signal.read() == self._seen:
            return  # nothing stored by anyone since the last catch-up
        await self._refresh_started_after_now(writer)

    async def changed_here(self, writer: GroupCommitWriter) -> None:
        """An opt-out or opt-in was just committed by this process: tell the others of this machine,
        and catch up before the caller answers."""
        if self._signal is not None:
            self._signal.announce()
        await self._refresh_started_after_now(writer)

    async def _refresh_started_after_now(self, writer: GroupCommitWriter) -> None:
        """Wait for a refresh that begins after this call: a refresh already reading may have read
        before the change this caller must see. Callers that come together share one refresh."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)
            if self._runner is None:
                self._runner = asyncio.create_task(self._run_refreshes(writer), name="opt-outs-catch-up")
        await asyncio.shield(self._next)

    async def _run_refreshes(self, writer: GroupCommitWriter) -> None:
        try:
            while self._next is not None:
                loop = asyncio.get_running_loop()
                wait = self._last_read_at + self._min_interval_s - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # the sends that come meanwhile join this read
                self._last_read_at = loop.time()
                waiting, self._next = self._next, None
                seen = self._signal.read() if self._signal is not None else b""  # before the read
                try:
                    await self.refresh(writer)
                except Exception as error:  # noqa: BLE001 - given to the sends that wait on it
                    waiting.set_exception(error)
                    continue
                self._seen = seen
                waiting.set_result(None)
        finally:
            self._runner = None

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


def _retrieve(future: asyncio.Future[None]) -> None:
    """A failed refresh whose waiters all went away (their requests ended) is not an unretrieved error."""
    if not future.cancelled():
        future.exception()
