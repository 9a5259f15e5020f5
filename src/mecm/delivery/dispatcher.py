"""The dispatcher: takes due PENDING messages, hands them to their carrier's connector, records what
happened, and decides on retries (connectors never do).

A submit whose answer was lost (a crash, or a bind that dropped with the submit unanswered) is *in
doubt*: the message stays SENDING and is settled by its carrier's ``on_unknown`` setting:

- ``query`` (default): ask the carrier (``Connector.query``). What it has is recorded as
  SENT_TO_CARRIER without a second submit; what it never saw goes back to PENDING. A carrier that
  cannot be asked yet is asked again with backoff; one that cannot answer at all gets a resend.
- ``resend``: back to PENDING at once (the carrier may see the message twice).
- ``fail``: NOT_SENT, never resent (the subscriber may get it once, or not at all).

At start the messages a stop left SENDING are settled the same way. So no submit is ever repeated
blindly, and the duplicates a carrier can see are those its ``on_unknown`` setting allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.delivery.connectors import Connector, Outcome, OutcomeKind
from mecm.domain.status import Status
from mecm.store import queue
from mecm.store.queue import Claimed
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_IDLE_POLL_S = 0.5  # how often an idle dispatcher looks for due work it was not told about
_EXPIRY_SWEEP_S = 5.0
_MAX_BATCHES_IN_FLIGHT = 4
_QUERY_BACKOFF_S = (0.5, 1, 2, 5, 10, 30)  # asking a carrier that cannot be asked yet
ON_UNKNOWN = ("query", "resend", "fail")


class Dispatcher:
    def __init__(self, settings: Settings, writer: GroupCommitWriter, connectors: dict[str, Connector]) -> None:
        self._settings = settings
        self._writer = writer
        self.connectors = connectors
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(_MAX_BATCHES_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stopped = asyncio.Event()
        self.submitted = 0

    def wake(self) -> None:
        """Called after a send commits: there is work now."""
        self._wake.set()

    async def run(self) -> None:
        await self.reconcile()
        last_sweep = 0.0
        while not self._stopping:
            now = time.time()
            if now - last_sweep >= _EXPIRY_SWEEP_S:
                last_sweep = now
                await self._writer.write(lambda c: queue.expire_overdue(c, _ms()))
            await self._slots.acquire()
            try:
                self._wake.clear()
                batch = await self._writer.write(
                    lambda c: queue.claim_pending(c, _ms(), self._settings.dispatch_batch)
                )
            except BaseException:
                self._slots.release()
                raise
            if batch:
                task = asyncio.create_task(self._deliver(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            self._slots.release()
            try:
                await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        """Stop claiming; let the batches in flight finish and record their outcomes."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def reconcile(self) -> None:
        """Settle the messages a stop left SENDING, in the background: a carrier that is down must
        not hold up delivery on the others."""
        in_doubt = await self._writer.read(queue.in_doubt)
        if in_doubt:
            log.info("settling %d messages left SENDING", len(in_doubt))
        for message in in_doubt:
            self._spawn(self._settle_in_doubt(message))

    def _spawn(self, coroutine) -> None:  # noqa: ANN001
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_in_doubt(self, message: Claimed) -> None:
        connector = self.connectors.get(message.carrier)
        if connector is None:
            outcome = Outcome.failed(Status.BAD_CARRIER.value, "Carrier no longer configured")
        else:
            policy = connector.settings.get("on_unknown", "query")
            if policy == "fail":
                outcome = Outcome.failed(Status.NOT_SENT.value, "Outcome unknown; not resent (on_unknown=fail)")
            elif policy == "resend":
                outcome = Outcome.retry("Outcome unknown; resent (on_unknown=resend)", after_s=0)
            else:
                outcome = await self._ask(connector, message)
                if outcome is None:
                    return  # stopping: it stays SENDING and is settled at the next start
        try:
            await self._writer.write(self._recorder([message], [outcome]))
        except Exception:  # noqa: BLE001 - it stays SENDING and is settled at the next start
            log.exception("recording the settlement of message %d failed", message.id)

    async def _ask(self, connector: Connector, message: Claimed) -> Outcome | None:
        """The carrier's answer on an in-doubt message; None when stopping before it answered.

        A carrier that cannot be asked now (not bound, timed out) is asked again with backoff, for as
        long as it takes: the message stays SENDING meanwhile, so it is never resent blindly.
        """
        tries = 0
        while not self._stopping:
            try:
                outcome: Outcome | None = await connector.query(message)
            except Exception as exc:  # noqa: BLE001
                log.info("query of message %d on %s failed: %s", message.id, message.carrier, exc.__class__.__name__)
                outcome = None
            if outcome is not None and outcome.kind is OutcomeKind.UNKNOWN:
                # The carrier never saw it: sending it now is its first submit there.
                return Outcome.retry("Not received by the carrier", after_s=0)
            if outcome is not None and outcome.kind is not OutcomeKind.RETRY:
                return outcome
            delay = _QUERY_BACKOFF_S[min(tries, len(_QUERY_BACKOFF_S) - 1)]
            tries += 1
            try:
                await asyncio.wait_for(self._stopped.wait(), delay)
            except TimeoutError:
                pass
        return None

    async def _deliver(self, batch: list[Claimed]) -> None:
        try:
            by_carrier: dict[str, list[Claimed]] = {}
            for message in batch:
                by_carrier.setdefault(message.carrier, []).append(message)
            groups = list(by_carrier.values())
            results = await asyncio.gather(*(self._submit_group(group) for group in groups))
            messages = [m for group in groups for m in group]
            outcomes = [o for group_outcomes in results for o in group_outcomes]
            self.submitted += sum(1 for o in outcomes if o.kind is OutcomeKind.ACCEPTED)
            settled = [(m, o) for m, o in zip(messages, outcomes) if not o.in_doubt]
            for message, outcome in zip(messages, outcomes):
                if outcome.in_doubt:  # stays SENDING until settled by the carrier's on_unknown policy
                    self._spawn(self._settle_in_doubt(message))
            await self._writer.write(self._recorder([m for m, _ in settled], [o for _, o in settled]))
        except Exception:  # noqa: BLE001 - they stay SENDING and are settled at the next start
            log.exception("recording a batch of %d outcomes failed", len(batch))
        finally:
            self._slots.release()
            self._wake.set()

    async def _submit_group(self, group: list[Claimed]) -> list[Outcome]:
        """One carrier's share of a batch; a connector that fails as a whole has every message retried."""
        connector = self.connectors.get(group[0].carrier)
        if connector is None:
            return [Outcome.failed(Status.BAD_CARRIER.value, "Carrier not configured")] * len(group)
        try:
            return await connector.submit_many(group)
        except Exception as exc:  # noqa: BLE001
            log.warning("submit of %d messages to %s failed: %r", len(group), connector.name, exc)
            return [Outcome.retry(f"submit failed: {exc.__class__.__name__}")] * len(group)

    def _recorder(self, messages: Sequence[Claimed], outcomes: Sequence[Outcome]):  # noqa: ANN202
        now = _ms()
        accepted: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}
        retries: list[tuple[int, int, str]] = []
        slow_downs: list[tuple[int, int, str]] = []  # the carrier asked us to wait: no attempt spent
        finals: list[tuple[int, str, str | None]] = []
        for message, outcome in zip(messages, outcomes):
            if outcome.kind is OutcomeKind.ACCEPTED and outcome.carrier_message_id:
                entry = (message.id, outcome.carrier_message_id, outcome.part_ids)
                accepted.setdefault(message.carrier, []).append(entry)
            elif outcome.kind is OutcomeKind.FAILED:
                finals.append((message.id, outcome.status or Status.NOT_SENT.value, outcome.detail))
            elif not outcome.counts_as_attempt:
                slow_downs.append((message.id, now + self._backoff_ms(message, outcome), outcome.detail or ""))
            elif message.attempts >= self._settings.max_attempts:
                finals.append((message.id, Status.EXPIRED.value, "Maximum tries reached"))
            else:
                retries.append((message.id, now + self._backoff_ms(message, outcome), outcome.detail or ""))

        def record(connection: Connection) -> None:
            for carrier, entries in accepted.items():
                queue.mark_sent(connection, carrier, entries, now)
            queue.mark_retry(connection, retries, now)
            queue.mark_retry(connection, slow_downs, now, counts_as_attempt=False)
            queue.mark_final(connection, finals, now)

        return record

    def _backoff_ms(self, message: Claimed, outcome: Outcome) -> int:
        if outcome.retry_after_s is not None:
            return int(outcome.retry_after_s * 1000)
        delay = self._settings.retry_base_s * 2 ** max(0, message.attempts - 1)
        return int(min(delay, self._settings.retry_max_s) * 1000)


def _ms() -> int:
    return int(time.time() * 1000)
