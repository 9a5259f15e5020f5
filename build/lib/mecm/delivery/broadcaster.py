"""The broadcaster: turns due broadcasts into messages, a page of members at a time.

Each page is read in subscriber order after the broadcast's cursor; members opted out of the
workspace are skipped (and counted); the others' messages are rendered, routed and queued PENDING
through the normal sending path, and the cursor moves past the page, all in one transaction. After
a crash the broadcast carries on after the last page queued, and no subscriber is queued twice
(the cursor, and a unique index on the broadcast and recipient, see to that). The dispatcher then
delivers them at each carrier's rate, and refuses any whose subscriber opted out since.

A paused broadcast is not due: nothing more is queued, and a page being queued when the pause came
writes nothing (its cursor write finds the broadcast paused). Resumed, it carries on from its cursor.

A broadcast with quiet hours queues nothing while they last; the few messages already waiting
(``BACKLOG`` at most) go out at the carrier's pace.

Pacing: a broadcast keeps at most ``BACKLOG`` of its messages waiting (PENDING or SENDING); the next
page is queued as those go out. Broadcast messages have low priority besides. So a broadcast to a
million never stands in front of a PIN sent a second later, and a cancel withdraws nearly all of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from mecm.domain import templates
from mecm.domain.quiet import release_at
from mecm.errors import InvalidParameter
from mecm.services.catalog import Catalog
from mecm.services.sending import SendingService, SendRequest
from mecm.store import broadcasts as store
from mecm.store import lists as store_lists
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

PAGE = 500
BACKLOG = 2 * PAGE
LOW_PRIORITY = 2  # as the flag priority=low: after normal and high sends
_IDLE_POLL_S = 0.25
KIND = "bulk"  # messages.kind of a broadcast's messages


class Broadcaster:
    def __init__(self, writer: GroupCommitWriter, catalog: Callable[[], Catalog], sending: SendingService) -> None:
        self._writer = writer
        self._catalog = catalog
        self._sending = sending
        self._complained: set[int] = set()

    async def run(self) -> None:
        while True:
            now = _now_ms()
            due = await self._writer.read(lambda c: store.due(c, now))
            progressed = False
            for broadcast in due:
                try:
                    progressed |= await self._queue_page(broadcast)
                except Exception:  # noqa: BLE001 - one broadcast's trouble must not stop the others
                    log.exception("broadcast %s: queueing a page failed; trying again", broadcast.id)
            if not progressed:
                await asyncio.sleep(_IDLE_POLL_S)

    async def _queue_page(self, broadcast: Any) -> bool:
        catalog = self._catalog()
        workspace = catalog.workspaces.get(broadcast.workspace_id)
        if workspace is None:
            return False
        now = _now_ms()
        if release_at(now, workspace.timezone, broadcast.quiet_hours) > now:
            return False  # quiet hours: nothing more is queued until they end
        if await self._writer.read(lambda c: store.waiting(c, broadcast.id)) > BACKLOG - PAGE:
            return False  # enough of it waits to be sent already
        members = await self._writer.read(
            lambda c: store_lists.members_after(c, broadcast.list_id, broadcast.cursor, PAGE))
        numbers = json.dumps([subscriber for subscriber, _ in members])
        opted_out = await self._writer.read(lambda c: store.opted_out_among(c, broadcast.workspace_id, numbers))
        rows: list[dict[str, Any]] = []
        unsendable = 0
        for subscriber, fields in members:
            if subscriber in opted_out:
                continue
            row = self._message(broadcast, workspace, catalog, subscriber, json.loads(fields))
            if row is None:
                return False  # the broadcast cannot be sent as it stands (logged); tried again later
            if row:
                rows.append(row)
            else:
                unsendable += 1
        last = len(members) < PAGE
        cursor = members[-1][0] if members else broadcast.cursor
        skipped = len(members) - len(rows) - unsendable
        queued = await self._writer.write(
            lambda c: store.record_page(c, broadcast.id, broadcast.cursor, cursor, rows, skipped, last, now,
                                        unsendable),
            can_wait=True)
        if queued and rows:
            self._sending.announce_accepted()
        if queued and last:
            log.info("broadcast %s: every member queued", broadcast.id)
        return bool(queued and members)

    def _message(self, broadcast: Any, workspace: Any, catalog: Catalog, subscriber: str,
                 fields: dict[str, str]) -> dict[str, Any] | None:
        """The member's message row; {} to leave this member out; None when none can be sent."""
        text = templates.render(broadcast.text, {**fields, "to": subscriber, "from": broadcast.code})
        try:
            row = self._sending.prepare(
                SendRequest(workspace, "", KIND, broadcast.carrier, broadcast.code, subscriber, text), catalog,
                checked=False)
        except InvalidParameter as error:
            if error.name == "text":  # this member's fields made the text too long: them alone
                log.warning("broadcast %s: not sent to %s: %s", broadcast.id, subscriber, error.description)
                return {}
            if broadcast.id not in self._complained:
                self._complained.add(broadcast.id)
                log.error("broadcast %s cannot be sent as it stands (tried again later): %s", broadcast.id,
                          error.description)
            return None
        row["broadcast_id"] = broadcast.id
        row["priority"] = LOW_PRIORITY
        return row


def _now_ms() -> int:
    return int(time.time() * 1000)
