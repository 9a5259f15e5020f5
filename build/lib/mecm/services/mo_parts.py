"""Multi-part MOs, joined durably: a part is stored before its carrier is answered, so an
acknowledged part survives a crash, and the whole MO is stored in the transaction that deletes its
parts, so it is handed on exactly once.

    part ──store (one write)──> the last one? ──yes──> hand on the whole MO (inbound: store it, match
                                                        a campaign, reply), deleting the parts with it
    sweep, every second ──> groups whose wait (the carrier's mo_reassembly_s) ended: hand on the
                            parts that came, joined in order, the same way

A part repeated after its message was handed on (the carrier did not get our answer) starts a new
group, which the sweep hands on alone when its wait ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection

from mecm.domain.mo_part import MOPart
from mecm.errors import StoreError
from mecm.smpp.parts import join_parts
from mecm.store import mo_parts as store
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

SWEEP_S = 1.0

# (carrier, source, destination, text, also): store the MO; ``also`` runs in the same transaction.
HandOn = Callable[[str, str, str, str, Callable[[Connection], Any]], Awaitable[None]]


class AlreadyHandedOn(StoreError):
    """Another transaction stored this MO first (a repeated last part, or the sweep racing it)."""


class MOParts:
    def __init__(self, writer: GroupCommitWriter, hand_on: HandOn, clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        self._hand_on = hand_on
        self._clock = clock

    async def receive(self, part: MOPart) -> None:
        """Store the part; when it completes its message, store the whole MO. Returns once stored."""
        now = int(self._clock() * 1000)
        row = {"carrier": part.carrier, "source": part.source, "destination": part.destination,
               "reference": part.reference, "total": part.total, "seq": part.seq, "text": part.text,
               "received_at_ms": now, "expires_at_ms": now + int(part.wait_s * 1000)}
        texts = await self._writer.write(lambda c: store.add(c, row))
        if texts is not None:
            await self._hand_on_group(store.group_of(row), texts)

    async def expire(self) -> int:
        """Hand on the messages whose missing parts did not come in time; how many."""
        now = int(self._clock() * 1000)

        def overdue(connection: Connection) -> list[tuple[dict[str, Any], list[str]]]:
            return [(group, store.texts(connection, group)) for group in store.overdue(connection, now)]

        groups = await self._writer.read(overdue)
        for group, texts in groups:
            log.warning("MO from %s on %s came incomplete (%d of %d parts); handed on as received",
                        group["source"], group["carrier"], len(texts), group["total"])
            await self._hand_on_group(group, texts)
        return len(groups)

    async def sweep(self) -> None:
        """``expire`` every SWEEP_S, for as long as the runtime runs."""
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.expire()
            except Exception:  # noqa: BLE001 - the parts stay stored; the next sweep tries again
                log.exception("handing on incomplete MOs failed")

    async def _hand_on_group(self, group: dict[str, Any], texts: list[str]) -> None:
        def take_parts(connection: Connection) -> None:
            # Exactly the parts read, or nothing: a part stored since (answered already) must not be
            # deleted without being in the MO. Raising rolls the deletion and the MO back; whoever
            # read the group as it now is hands it on.
            if store.take(connection, group) != len(texts):
                raise AlreadyHandedOn("MO parts already handed on, or joined by another part")

        with contextlib.suppress(AlreadyHandedOn):
            await self._hand_on(group["carrier"], group["source"], group["destination"], join_parts(texts),
                                take_parts)
