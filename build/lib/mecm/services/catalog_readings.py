"""Which reading of the catalog a process serves, and when it reads again.

The catalog (services/catalog.py) is read whole: at start, every ``catalog_refresh_s``, after an
administrative change made in this process, and when a request names something it does not hold
(a key or a code made a moment ago, perhaps by another process). For that last case, what the
request names was committed before the request came, so a reading *begun* after the miss sees it:
a reading begun before it, even one that lands after it, may not. Misses wait for such a reading.

Misses share readings, and readings for misses begin at most every ``min_gap_s``: a flood of
unknown keys costs the database a few readings a second, and each of its requests waits for the
next one. A slow reading that lands after a newer one is dropped, so the catalog never goes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from mecm.services.catalog import Catalog


class CatalogReadings:
    def __init__(self, read: Callable[[], Awaitable[Catalog]], *, min_gap_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.catalog = Catalog()
        self._read = read
        self._min_gap_s = min_gap_s
        self._clock = clock
        self._sleep = sleep
        self._last_begun = float("-inf")  # when the latest reading began
        self._as_of = float("-inf")  # when the reading now in self.catalog began
        self._miss_lock = asyncio.Lock()

    async def reload(self) -> Catalog:
        begun = self._last_begun = self._clock()
        catalog = await self._read()
        if begun >= self._as_of:
            self.catalog, self._as_of = catalog, begun
        return self.catalog

    async def after_miss(self) -> Catalog:
        """The catalog as of a reading begun after this call (it waits for one)."""
        asked_at = self._clock()
        async with self._miss_lock:
            if self._as_of >= asked_at:
                return self.catalog  # a reading begun after the miss landed while it waited
            wait = self._last_begun + self._min_gap_s - self._clock()
            if wait > 0:
                await self._sleep(wait)
            return await self.reload()
