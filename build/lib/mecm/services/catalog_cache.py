"""The catalog a process serves from memory, read from the database and kept fresh.

Read at start, after an administrative change made in this process (``reload``), when a request
names something it does not hold (``reload_on_miss``: services/catalog_readings.py decides when),
and every ``catalog_refresh_s`` (``keep_fresh``). What depends on the catalog is refreshed after each
periodic reading, in the order subscribed to ``refreshed`` (the API's opt-out view, the worker's
connectors); a periodic refresh counts only once all of it is done.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from mecm.services.catalog import Catalog, load_catalog
from mecm.services.catalog_readings import CatalogReadings
from mecm.services.notification import Notification
from mecm.store.crypto import Vault
from mecm.store.driver_errors import one_line
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_MIN_MISS_RELOAD_S = 0.2


class CatalogCache:
    def __init__(self, writer: GroupCommitWriter, vault: Vault, *, refresh_s: float) -> None:
        self._writer = writer
        self._vault = vault
        self._refresh_s = refresh_s
        self._readings = CatalogReadings(self._read, min_gap_s=_MIN_MISS_RELOAD_S)
        # Awaited after each periodic reading; one that raises fails that refresh (logged, not counted).
        self.refreshed: Notification[[]] = Notification()
        # Periodic refreshes completed (catalog, opt-outs, connectors), on /metrics: a refresh begun
        # after a change in the database has seen it (tests wait for that, not a time).
        self.refreshes = 0

    @property
    def catalog(self) -> Catalog:
        return self._readings.catalog

    async def _read(self) -> Catalog:
        return await self._writer.read_control(lambda c: load_catalog(c, self._vault))

    async def reload(self) -> None:
        await self._readings.reload()

    async def reload_on_miss(self) -> None:
        """A request named something unknown: wait for a reading of the catalog begun after now
        (services/catalog_readings.py)."""
        await self._readings.after_miss()

    async def keep_fresh(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
                await self.refreshed.notify_awaiting()
            except DBAPIError as error:  # the database away: one line when it starts, not one a refresh
                if not failing:
                    log.error("catalog refresh failed, serving the last reading until the database answers: %s",
                              one_line(error))
                failing = True
            except Exception:  # noqa: BLE001 - keep serving with the last good snapshot
                log.exception("catalog refresh failed")
            else:
                if failing:
                    log.warning("catalog refresh works again")
                failing = False
                self.refreshes += 1
