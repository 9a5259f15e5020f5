"""Keeps every workspace's dashboard hours counted (services/admin/dashboard.py) in the background,
in one process of the deployment, so that a dashboard opened after a week without a view finds its
week kept rather than counting it (seconds at a million messages a week).

It counts only up to the hour of the deployment's newest message or MO: hours after it hold nothing
for anyone, a view counts them from no rows at all, and an idle deployment gets no commits from
here. An hour still holding messages on their way is counted again, as a view would, until all of
them are final; those writes follow traffic and end with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mecm.errors import Unknown
from mecm.services.admin import dashboard
from mecm.store import dashboard as store_dashboard
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

EVERY_S = 300.0


class DashboardKeeper:
    def __init__(self, writer: GroupCommitWriter, *, every_s: float = EVERY_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        self._every_s = every_s
        self._clock = clock

    async def keep_once(self) -> int:
        """Count and keep what each workspace's dashboard would count now; how many hours were kept."""
        now_ms = int(self._clock() * 1000)
        newest = await self._writer.read(store_dashboard.newest_traffic_ms)
        if newest is None or newest < now_ms - dashboard.WEEK_MS:
            return 0  # nothing in any dashboard's week: what a view counts there is empty rows
        # As seen at the end of the newest traffic's hour plus COUNTED_AFTER_MS: its hour is closed
        # then, and no later (empty) hour is.
        as_of = min(now_ms, newest + dashboard.COUNTED_AFTER_MS + dashboard.HOUR_MS)
        kept = 0
        for workspace_id in await self._writer.read(store_dashboard.workspace_ids):
            try:
                kept += await self._keep(workspace_id, as_of)
            except Unknown:  # deleted since the list was read
                continue
            except Exception:  # noqa: BLE001 - one workspace's failure leaves the others' rounds whole
                log.exception("keeping the dashboard hours of workspace %d failed", workspace_id)
        return kept

    async def _keep(self, workspace_id: int, as_of: int) -> int:
        counted = await self._writer.read(lambda c: dashboard.count_hours(c, workspace_id, as_of))
        if counted is None:
            return 0
        await self._writer.write(lambda c: dashboard.keep_hours(c, counted), can_wait=True)
        return len(counted.hours)

    async def run(self) -> None:
        while True:
            try:
                await self.keep_once()
            except Exception:  # noqa: BLE001 - a view counts what is not kept; the next round tries again
                log.exception("keeping the dashboard's hours failed")
            await asyncio.sleep(self._every_s)
