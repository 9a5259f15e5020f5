"""A simulated carrier, for the embedded default, demos and tests.

It behaves as a carrier does, as far as mecm can tell: it keeps its own durable record of every
submit (its own SQLite file, not mecm's database), answers with a carrier message id, and sends a
delivery receipt after ``delivery_delay_ms`` through the same receipt path a real carrier uses,
failing ``failure_rate`` of them (UNDELIVERED). Because its record survives a crash, mecm can ask it
about a submit whose answer was lost (``query``), as it would ask a real carrier with query_sm; and
``submit_count`` counts duplicates, so tests can prove each message reached it exactly once.

Settings: ``delivery_delay_ms`` (default 50), ``failure_rate`` (0.0 to 1.0, default 0),
``tps`` (submits per second at most, as a carrier's contract says; default 0, no limit),
``state_path`` (default ``<var_dir>/simulator-<name>.db``).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from mecm.delivery.smpp.rate import TokenBucket
from mecm.delivery.connectors.base import (Connector, MOPartSink, MOSink, Outcome, OutcomeCallback, ReceiptSink,
                                           Withhold)
from mecm.files import create_private_file, keep_from_others, sqlite_files
from mecm.store.queue import Claimed
from mecm.store.bulk import Values
from mecm.store.engine import SQLITE_STATEMENT_CACHE
from mecm.store.writer import ExecuteMany, GroupCommitWriter

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    client_ref INTEGER PRIMARY KEY,      -- mecm's message id
    carrier_message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    submit_count INTEGER NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    receipt_due_ms INTEGER NOT NULL,
    receipt_status TEXT NOT NULL,
    receipt_sent INTEGER NOT NULL DEFAULT 0
)
"""
_INDEX_UNSENT = "CREATE INDEX IF NOT EXISTS ix_submissions_unsent ON submissions (receipt_sent) WHERE receipt_sent = 0"
_RECORD = Values(
    """
    INSERT INTO submissions (client_ref, carrier_message_id, recipient, submit_count, submitted_at_ms,
                             receipt_due_ms, receipt_status)
    {values}
    ON CONFLICT (client_ref) DO UPDATE SET submit_count = submit_count + 1
    """,
    ("client_ref", "carrier_message_id", "recipient", "submit_count", "now", "due", "status"),
)
# By primary key: the heap keeps each receipt's client_ref, so no lookup by carrier message id.
_MARK_RECEIPT_SENT = Values(
    "UPDATE submissions SET receipt_sent = 1 WHERE client_ref IN (SELECT client_ref FROM {rows})",
    ("client_ref",),
)
_UNSENT = text(
    "SELECT receipt_due_ms, carrier_message_id, receipt_status, client_ref FROM submissions WHERE receipt_sent = 0"
)
_LOOKUP = text("SELECT carrier_message_id FROM submissions WHERE client_ref = :client_ref")

_MIX = 0x9E3779B97F4A7C15  # odd, so multiplying by it is a bijection on 64-bit ids
_TICK_S = 0.01


def carrier_message_id_for(message_id: int) -> str:
    """Deterministic per message, unrelated-looking, and hex as many carriers' ids are."""
    return format((message_id * _MIX) & 0xFFFFFFFFFFFFFFFF, "016x")


class SimulatorConnector(Connector):
    def __init__(self, name: str, settings: dict[str, Any], var_dir: Path) -> None:
        super().__init__(name, settings)
        self.delay_ms = int(settings.get("delivery_delay_ms", 50))
        self.failure_rate = float(settings.get("failure_rate", 0.0))
        tps = float(settings.get("tps", 0) or 0)
        self._bucket = TokenBucket(tps) if tps > 0 else None  # the same pacing as an SMPP carrier's
        self.state_path = Path(settings.get("state_path") or var_dir / f"simulator-{name}.db")
        self._due: list[tuple[int, str, str, int]] = []  # heap of (due ms, carrier message id, status, client ref)
        self._pump: asyncio.Task[None] | None = None
        self._writer: GroupCommitWriter | None = None

    async def start(self, receipts: ReceiptSink, *, mo: MOSink | None = None,
                    mo_part: MOPartSink | None = None) -> None:
        await super().start(receipts, mo=mo, mo_part=mo_part)
        create_private_file(self.state_path)  # 0600 (its -wal and -shm take its mode)
        keep_from_others(sqlite_files(self.state_path))
        engine = create_engine(f"sqlite:///{self.state_path}",
                               connect_args={"check_same_thread": False, "cached_statements": SQLITE_STATEMENT_CACHE})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")

        with engine.begin() as connection:
            connection.execute(text(_SCHEMA))
            connection.execute(text(_INDEX_UNSENT))
            self._due = [tuple(row) for row in connection.execute(_UNSENT)]  # type: ignore[misc]
        heapq.heapify(self._due)
        self._writer = GroupCommitWriter(engine)
        self._pump = asyncio.create_task(self._send_receipts(), name=f"simulator-{self.name}-receipts")

    async def submit(self, message: Claimed) -> Outcome:
        outcomes: list[Outcome] = []
        await self.submit_each([message], lambda _, outcome: outcomes.append(outcome))
        return outcomes[0]

    async def submit_each(self, messages: Sequence[Claimed], on_outcome: OutcomeCallback,
                          withhold: Withhold | None = None) -> None:
        """Record the batch durably in one write (as an SMSC would before answering), then accept."""
        assert self._writer is not None, "connector not started"
        rows = []
        taken = []
        for message in messages:
            withheld = withhold(message) if withhold is not None else None
            if withheld is not None:
                on_outcome(message, withheld)
                continue
            if self._bucket is not None:
                await self._bucket.take()
            taken.append(message)
            now = int(time.time() * 1000)
            due = now + self.delay_ms
            status = "UNDELIVERED" if random.random() < self.failure_rate else "DELIVERED_TO_DEVICE"
            rows.append({"client_ref": message.id, "carrier_message_id": carrier_message_id_for(message.id),
                         "recipient": message.recipient, "submit_count": 1, "now": now, "due": due,
                         "status": status})
        await self._writer.write(ExecuteMany(_RECORD, rows))
        for row in rows:
            heapq.heappush(self._due, (row["due"], row["carrier_message_id"], row["status"], row["client_ref"]))
        for message, row in zip(taken, rows):
            on_outcome(message, Outcome.accepted(row["carrier_message_id"]))

    async def query(self, message: Claimed) -> Outcome:
        assert self._writer is not None, "connector not started"
        row = await self._writer.read(lambda c: c.execute(_LOOKUP, {"client_ref": message.id}).first())
        return Outcome.unknown() if row is None else Outcome.accepted(row[0])

    async def _send_receipts(self) -> None:
        assert self._writer is not None
        while True:
            await asyncio.sleep(_TICK_S)
            now = int(time.time() * 1000)
            due: list[tuple[int, str, str, int]] = []
            while self._due and self._due[0][0] <= now and len(due) < 5000:
                due.append(heapq.heappop(self._due))
            batch = [(ref, status, None if status == "DELIVERED_TO_DEVICE" else "err:001") for _, ref, status, _ in due]
            if not batch:
                continue
            try:
                await self._receipts(self.name, batch)
            except Exception:  # noqa: BLE001 - keep them due; a carrier resends unacknowledged receipts
                log.exception("receipts not accepted; will resend")
                for _, ref, status, client_ref in due:
                    heapq.heappush(self._due, (now + 1000, ref, status, client_ref))
                continue
            sent = [{"client_ref": client_ref} for _, _, _, client_ref in due]
            await self._writer.write(ExecuteMany(_MARK_RECEIPT_SENT, sent))

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            try:
                await self._pump
            except asyncio.CancelledError:
                pass
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
