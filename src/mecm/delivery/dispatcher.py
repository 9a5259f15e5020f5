"""The dispatcher: takes due PENDING messages, hands them to their carrier's connector, records what
happened, and decides on retries (connectors never do).

At start it first reconciles the messages a stop left SENDING: their submit may have reached the
carrier with the answer lost. It asks the connector (``query``); what the carrier has is recorded as
SENT_TO_CARRIER without a second submit, and only what the carrier never saw goes back to PENDING.
So a crash or restart never submits a message twice to a carrier that can answer that question.
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


class Dispatcher:
    def __init__(self, settings: Settings, writer: GroupCommitWriter, connectors: dict[str, Connector]) -> None:
        self._settings = settings
        self._writer = writer
        self.connectors = connectors
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(_MAX_BATCHES_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
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
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def reconcile(self) -> None:
        in_doubt = await self._writer.read(queue.in_doubt)
        if not in_doubt:
            return
        log.info("reconciling %d messages left SENDING", len(in_doubt))
        outcomes = await asyncio.gather(*(self._query(m) for m in in_doubt))
        await self._writer.write(self._recorder(in_doubt, outcomes))

    async def _query(self, message: Claimed) -> Outcome:
        connector = self.connectors.get(message.carrier)
        if connector is None:
            return Outcome.failed(Status.BAD_CARRIER.value, "Carrier no longer configured")
        try:
            outcome = await connector.query(message)
        except Exception as exc:  # noqa: BLE001
            log.warning("query of message %d failed: %s", message.id, exc)
            return Outcome.retry(f"query failed: {exc}")
        if outcome.kind is OutcomeKind.UNKNOWN:
            # The carrier never saw it: sending it now is its first submit there.
            return Outcome.retry("not received by the carrier before the stop", after_s=0)
        return outcome

    async def _deliver(self, batch: list[Claimed]) -> None:
        try:
            outcomes = await asyncio.gather(*(self._submit(m) for m in batch))
            self.submitted += sum(1 for o in outcomes if o.kind is OutcomeKind.ACCEPTED)
            await self._writer.write(self._recorder(batch, outcomes))
        except Exception:  # noqa: BLE001 - they stay SENDING and are reconciled at the next start
            log.exception("recording a batch of %d outcomes failed", len(batch))
        finally:
            self._slots.release()
            self._wake.set()

    async def _submit(self, message: Claimed) -> Outcome:
        connector = self.connectors.get(message.carrier)
        if connector is None:
            return Outcome.failed(Status.BAD_CARRIER.value, "Carrier not configured")
        try:
            return await connector.submit(message)
        except Exception as exc:  # noqa: BLE001
            log.warning("submit of message %d to %s failed: %s", message.id, message.carrier, exc)
            return Outcome.retry(f"submit failed: {exc.__class__.__name__}")

    def _recorder(self, messages: Sequence[Claimed], outcomes: Sequence[Outcome]):  # noqa: ANN202
        now = _ms()
        accepted: dict[str, list[tuple[int, str]]] = {}
        retries: list[tuple[int, int, str]] = []
        finals: list[tuple[int, str, str | None]] = []
        for message, outcome in zip(messages, outcomes):
            if outcome.kind is OutcomeKind.ACCEPTED and outcome.carrier_message_id:
                accepted.setdefault(message.carrier, []).append((message.id, outcome.carrier_message_id))
            elif outcome.kind is OutcomeKind.FAILED:
                finals.append((message.id, outcome.status or Status.NOT_SENT.value, outcome.detail))
            elif message.attempts >= self._settings.max_attempts:
                finals.append((message.id, Status.EXPIRED.value, "Maximum tries reached"))
            else:
                retries.append((message.id, now + self._backoff_ms(message, outcome), outcome.detail or ""))

        def record(connection: Connection) -> None:
            for carrier, pairs in accepted.items():
                queue.mark_sent(connection, carrier, pairs, now)
            queue.mark_retry(connection, retries, now)
            queue.mark_final(connection, finals, now)

        return record

    def _backoff_ms(self, message: Claimed, outcome: Outcome) -> int:
        if outcome.retry_after_s is not None:
            return int(outcome.retry_after_s * 1000)
        delay = self._settings.retry_base_s * 2 ** max(0, message.attempts - 1)
        return int(min(delay, self._settings.retry_max_s) * 1000)


def _ms() -> int:
    return int(time.time() * 1000)
