"""A connector with ``unrecorded`` slots never has more messages sent and unrecorded than its slots,
across every batch in flight: the bound on what a killed worker can send twice (issue 16, Found 2).
The dispatcher's recording is played here by futures the test completes one at a time."""

from __future__ import annotations

import asyncio

from mecm.delivery.connectors.base import Connector, Outcome
from mecm.delivery.smpp.rate import Window
from mecm.store.queue import Claimed
from tests.support.waiting import wait_until_async

SLOTS = 3


class QuickCarrier(Connector):
    """Accepts each submit at once; before each one, notes how many accepted messages are not yet
    recorded."""

    def __init__(self, unrecorded: Window | None) -> None:
        super().__init__("quick", {})
        self.unrecorded = unrecorded
        self.submit_concurrency = SLOTS
        self.recordings: dict[int, asyncio.Future[None]] = {}
        self.unrecorded_at_submit: list[int] = []

    def not_recorded(self) -> list[int]:
        return [m for m, future in self.recordings.items() if not future.done()]

    async def submit(self, message: Claimed) -> Outcome:
        self.unrecorded_at_submit.append(len(self.not_recorded()))
        return Outcome.accepted(f"ref-{message.id}")


def claimed(message_id: int) -> Claimed:
    return Claimed(id=message_id, carrier="quick", sender="123", recipient="13056708084", text=f"m{message_id}",
                   flags="", data_coding="GSM7", segments=1, attempts=1, expires_at_ms=10**13,
                   carrier_message_id=None)


async def run_batches(carrier: QuickCarrier, batches: int, per_batch: int) -> None:
    def on_outcome(message: Claimed, outcome: Outcome) -> asyncio.Future[None]:
        carrier.recordings[message.id] = asyncio.get_running_loop().create_future()
        return carrier.recordings[message.id]

    messages = [claimed(i) for i in range(1, batches * per_batch + 1)]
    sending = [asyncio.ensure_future(carrier.submit_each(messages[b::batches], on_outcome)) for b in range(batches)]
    recorded = 0
    while recorded < len(messages):
        # the oldest outcome not recorded yet is committed; the slot it frees lets one more go
        oldest = (await wait_until_async(carrier.not_recorded))[0]
        carrier.recordings[oldest].set_result(None)
        recorded += 1
    await asyncio.gather(*sending)


async def test_no_more_than_the_slots_are_sent_and_unrecorded_across_batches() -> None:
    carrier = QuickCarrier(Window(SLOTS))
    await run_batches(carrier, batches=4, per_batch=10)
    assert len(carrier.unrecorded_at_submit) == 40
    assert max(carrier.unrecorded_at_submit) == SLOTS - 1  # the slots were used, never exceeded


async def test_without_slots_the_answers_run_ahead_of_the_records() -> None:
    """The same batches with no bound: what a crash could resend grows with the backlog."""
    carrier = QuickCarrier(None)
    await run_batches(carrier, batches=4, per_batch=10)
    assert max(carrier.unrecorded_at_submit) > SLOTS
