"""The one contract every carrier connector keeps (DESIGN principle 5, Courier's handler habit).

A connector moves messages to a carrier and reports what happened as one of a few fixed outcomes.
It never decides on retries: the dispatcher does. Receipts come back through the ``ReceiptSink``
and mobile-originated messages through the optional ``MOSink`` handed to it at start (the parts of a
multi-part MO through the ``MOPartSink``: the runtime stores and joins them).
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from mecm.domain.mo_part import MOPart
from mecm.store.queue import Claimed

log = logging.getLogger(__name__)


class OutcomeKind(enum.Enum):
    ACCEPTED = "accepted"  # the carrier took it; carrier_message_id identifies it there
    RETRY = "retry"  # not taken this time (throttled, queue full, disconnected before sending)
    FAILED = "failed"  # refused for good; status says which final status
    UNKNOWN = "unknown"  # only from query(): the carrier has no record of it


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    carrier_message_id: str | None = None
    status: str | None = None  # a final status, for FAILED
    detail: str | None = None
    retry_after_s: float | None = None
    # ACCEPTED: every part's carrier message id, in order (carrier_message_id is the first one);
    # connectors that never split a message may leave it empty.
    part_ids: tuple[str, ...] = ()
    # RETRY only: False when the carrier asked us to slow down (throttled, queue full), so the
    # dispatcher does not spend one of the message's attempts on it.
    counts_as_attempt: bool = True
    # RETRY only: True when the submit may have reached the carrier (the answer was lost), so the
    # dispatcher applies the carrier's on_unknown policy instead of resending blindly.
    in_doubt: bool = False

    @classmethod
    def accepted(cls, carrier_message_id: str) -> Outcome:
        return cls(OutcomeKind.ACCEPTED, carrier_message_id=carrier_message_id)

    @classmethod
    def retry(cls, detail: str, after_s: float | None = None) -> Outcome:
        return cls(OutcomeKind.RETRY, detail=detail, retry_after_s=after_s)

    @classmethod
    def failed(cls, status: str, detail: str) -> Outcome:
        return cls(OutcomeKind.FAILED, status=status, detail=detail)

    @classmethod
    def unknown(cls) -> Outcome:
        return cls(OutcomeKind.UNKNOWN)


# (carrier name, [(carrier message id, final status, detail)]); returns once the receipts are stored.
ReceiptSink = Callable[[str, Sequence[tuple[str, str, str | None]]], Awaitable[None]]
# (message, its outcome): called by submit_each as each outcome is known. It may return a future
# that is done once that outcome is recorded (committed, or its write failed and was logged):
# the default submit_each holds the message's slot until then (see ``Connector.unrecorded``).
OutcomeCallback = Callable[[Claimed, Outcome], "asyncio.Future[None] | None"]
# Asked right before each submit of submit_each: an outcome to report instead of submitting the
# message (the dispatcher withholds a paused broadcast's messages), or None to submit it.
Withhold = Callable[[Claimed], "Outcome | None"]
# (carrier name, source number, destination code, text); returns once the MO is stored.
MOSink = Callable[[str, str, str, str], Awaitable[None]]


# Returns once the part is stored (and, when it was the last one, the whole MO): only then may the
# carrier be answered.
MOPartSink = Callable[[MOPart], Awaitable[None]]


_NO_BOUND: AbstractAsyncContextManager[Any] = nullcontext()


def _as_outcome(carrier: str, message: Claimed, error: Exception) -> Outcome:
    log.warning("submit of message %d to %s failed: %r", message.id, carrier, error)
    return Outcome.retry(f"submit failed: {error.__class__.__name__}")


class Connector(abc.ABC):
    """A connection to one carrier, configured by that carrier's settings."""

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        self.name = name
        self.settings = settings

    async def start(self, receipts: ReceiptSink, *, mo: MOSink | None = None,
                    mo_part: MOPartSink | None = None) -> None:
        self._receipts = receipts
        self._mo = mo
        self._mo_part = mo_part

    @abc.abstractmethod
    async def submit(self, message: Claimed) -> Outcome:
        """Hand one message to the carrier."""

    # How many of a batch's messages are submitted at once by the default submit_each; None: all.
    submit_concurrency: int | None = None
    # Slots the default submit_each holds, one per message, from before the message is sent until
    # its outcome is recorded, across every batch in flight; None: no bound. The messages holding
    # one are what a crash of the worker can leave sent and unrecorded, to be settled as in doubt at
    # the next start (over SMPP: resent, so they may reach the carrier twice). The SMPP connector
    # gives as many slots as its window, so that number never exceeds the window.
    unrecorded: AbstractAsyncContextManager[Any] | None = None

    async def submit_each(self, messages: Sequence[Claimed], on_outcome: OutcomeCallback,
                          withhold: Withhold | None = None) -> None:
        """Hand several messages to the carrier and call ``on_outcome(message, outcome)`` for each as
        soon as it is known, so the dispatcher records it at once (a crash then finds few accepted
        submits unrecorded). By default ``submit_concurrency`` workers take the messages in order and
        submit them (a window or rate limit inside ``submit`` paces them: a connector with a window
        of N needs N workers, not a task per message), and a submit that raised is retried later.
        Each message holds one of the ``unrecorded`` slots from before it is sent until the future
        ``on_outcome`` returned for it is done. A connector that can take a batch for less than the
        sum of its messages (one durable write, as the simulator does) overrides this. ``withhold``
        is asked about each message when its turn comes (a paced batch takes seconds): the outcome it
        gives is reported, and nothing sent."""
        pending = iter(messages)  # shared: each worker takes the next message
        slots = self.unrecorded or _NO_BOUND

        async def worker() -> None:
            for message in pending:
                async with slots:
                    withheld = withhold(message) if withhold is not None else None
                    if withheld is not None:
                        on_outcome(message, withheld)
                        continue
                    try:
                        outcome = await self.submit(message)
                    except Exception as error:  # noqa: BLE001 - a bug in one submit must not lose the others'
                        outcome = _as_outcome(self.name, message, error)
                    recorded = on_outcome(message, outcome)
                    if recorded is not None and self.unrecorded is not None:
                        await recorded

        workers = len(messages) if self.submit_concurrency is None else min(len(messages), self.submit_concurrency)
        await asyncio.gather(*(worker() for _ in range(workers)))

    async def query(self, message: Claimed) -> Outcome:
        """For a message whose submit outcome was lost (a crash): what does the carrier know of it?

        ACCEPTED when the carrier has it, UNKNOWN when it does not. Connectors that cannot ask
        return UNKNOWN, and the dispatcher's policy decides.
        """
        return Outcome.unknown()

    def stop_submitting(self) -> None:
        """Shutdown begins (called before the dispatcher stops): begin no new submit. A connector
        that paces its submits returns those still waiting as RETRY with ``counts_as_attempt=False``
        at once, so a stop need not wait for a backlog; those already sent still get their answers."""

    async def stop(self) -> None:
        """Finish what is in flight and disconnect."""
