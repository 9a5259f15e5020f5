"""Which reading of the catalog a process serves (services/catalog_readings.py): a request that names
something unknown waits for a reading begun after it, shared with other misses, and a slow, older
reading never replaces a newer one."""

from __future__ import annotations

import asyncio

from mecm.services.catalog import ApiKey, Catalog
from mecm.services.catalog_readings import CatalogReadings
from tests.support.databases import no_database

pytestmark = no_database


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        self.now += 0.001  # every look at the clock is a moment later
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _Database:
    """Readings that return the keys committed when they began, and land when released."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.readings = 0
        self.hold: asyncio.Event | None = None  # set: readings wait for it
        self.holding = asyncio.Event()

    async def read(self) -> Catalog:
        self.readings += 1
        keys = frozenset(self.keys)
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        return Catalog(keys={key: ApiKey(key, "private", 1) for key in keys})


def _keys(catalog: Catalog) -> set[str]:
    return set(catalog.keys)


async def test_a_miss_waits_for_a_reading_begun_after_it_even_when_an_older_one_is_in_flight() -> None:
    clock, database = _Clock(), _Database()
    readings = CatalogReadings(database.read, clock=clock, sleep=clock.sleep)
    await readings.reload()
    # The periodic reading begins, then the key is made, then a request names it.
    held = database.hold = asyncio.Event()
    periodic = asyncio.create_task(readings.reload())
    await database.holding.wait()
    database.hold = None
    database.keys.add("NEW")
    assert "NEW" in _keys(await readings.after_miss())
    assert database.readings == 3
    # The periodic reading lands last, with what it saw before the key: it does not replace the newer.
    held.set()
    await periodic
    assert "NEW" in _keys(readings.catalog)


async def test_readings_for_misses_begin_at_most_every_min_gap() -> None:
    clock, database = _Clock(), _Database()
    readings = CatalogReadings(database.read, min_gap_s=0.2, clock=clock, sleep=clock.sleep)
    await readings.after_miss()
    await readings.after_miss()
    assert database.readings == 2
    assert len(clock.slept) == 1 and 0.19 < clock.slept[0] <= 0.2


async def test_misses_at_the_same_time_share_one_reading() -> None:
    clock, database = _Clock(), _Database()
    readings = CatalogReadings(database.read, clock=clock, sleep=clock.sleep)
    database.hold = asyncio.Event()
    first = asyncio.create_task(readings.after_miss())
    await database.holding.wait()
    # These misses come while the first one's reading is in flight: they need a reading begun
    # after them, so they share the next one, not one each.
    others = [asyncio.create_task(readings.after_miss()) for _ in range(20)]
    await asyncio.sleep(0)
    database.hold.set()
    await asyncio.gather(first, *others)
    assert database.readings == 2
