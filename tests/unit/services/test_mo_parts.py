"""Multi-part MOs joined from durable parts: in order whatever order they came in, each message
handed on once, senders and references kept apart, incomplete ones handed on when their wait ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from mecm.delivery.connectors.base import MOPart
from mecm.services.mo_parts import MOParts
from mecm.smpp.parts import decode_short_message
from mecm.store import mo_parts as mo_store
from mecm.store.writer import GroupCommitWriter


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class World:
    """MOParts over a real database; handing on stores the MO's text in a table, with ``also``."""

    def __init__(self, engine: Engine) -> None:
        self.writer = GroupCommitWriter(engine)
        self.clock = Clock()
        self.handed_on: list[tuple[str, str, str, str]] = []
        self.parts = MOParts(self.writer, self.hand_on, self.clock)

    async def hand_on(self, carrier: str, source: str, destination: str, text_: str, also: Any) -> None:
        def store(connection: Connection) -> None:
            also(connection)
            connection.execute(text("CREATE TABLE IF NOT EXISTS mos (t TEXT)"))
            connection.execute(text("INSERT INTO mos VALUES (:t)"), {"t": text_})

        await self.writer.write(store)
        self.handed_on.append((carrier, source, destination, text_))

    async def part(self, seq: int, text_: str, *, total: int = 3, ref: int = 5, source: str = "584141110001",
                   wait_s: float = 60.0) -> None:
        await self.parts.receive(MOPart("movil", source, "1234", ref, total, seq, text_, wait_s))

    def stored_parts(self) -> int:
        with self.writer._engine.connect() as c:  # noqa: SLF001 - a look at the table, for the test
            return c.execute(text("SELECT COUNT(*) FROM mo_parts")).scalar()


@pytest.fixture()
def world(engine: Engine) -> Iterator[World]:
    w = World(engine)
    yield w
    w.writer.close()


async def test_parts_in_any_order_make_one_mo_in_order_once(world: World) -> None:
    await world.part(2, "B")
    await world.part(2, "X")  # a repeat of part 2: the first one is kept
    await world.part(3, "C")
    assert world.handed_on == [] and world.stored_parts() == 2  # stored before they are answered
    await world.part(1, "A")
    assert world.handed_on == [("movil", "584141110001", "1234", "ABC")]
    assert world.stored_parts() == 0


async def test_the_last_part_twice_at_once_hands_the_mo_on_once(world: World) -> None:
    await world.part(1, "A", total=2)
    await asyncio.gather(world.part(2, "B", total=2), world.part(2, "B", total=2))
    assert world.handed_on == [("movil", "584141110001", "1234", "AB")]
    assert world.stored_parts() == 0


async def test_senders_and_references_are_kept_apart(world: World) -> None:
    await world.part(1, "one-", total=2, source="584141110001")
    await world.part(1, "two-", total=2, source="584141110002")
    await world.part(2, "other", total=2, source="584141110001", ref=6)
    await world.part(2, "b", total=2, source="584141110002")
    await world.part(2, "a", total=2, source="584141110001")
    assert [h[3] for h in world.handed_on] == ["two-b", "one-a"]
    assert world.stored_parts() == 1  # reference 6 still waits for its first part


async def test_a_surrogate_pair_cut_between_parts_is_joined(world: World) -> None:
    data = "x😀".encode("utf-16-be")
    await world.part(1, decode_short_message(data[:4], 8), total=2)
    await world.part(2, decode_short_message(data[4:], 8), total=2)
    assert world.handed_on[0][3] == "x😀"


async def test_a_message_whose_parts_stop_coming_is_handed_on_as_it_came(world: World) -> None:
    await world.part(3, "C", wait_s=60)
    await world.part(1, "A", wait_s=60)
    world.clock.now += 30
    await world.part(1, "fresh", total=2, ref=9, wait_s=60)
    assert await world.parts.expire() == 0
    world.clock.now += 31  # 61 s after the first part of reference 5
    assert await world.parts.expire() == 1
    assert [h[3] for h in world.handed_on] == ["AC"]
    assert world.stored_parts() == 1  # reference 9 has time left



async def test_a_part_that_comes_while_the_sweep_hands_on_its_message_is_not_lost(world: World) -> None:
    await world.part(1, "A")
    await world.part(3, "C")
    world.clock.now += 61  # the wait for part 2 is over: the sweep hands on "AC"...
    original, intercepted = world.parts._hand_on, []
    part_2 = {"carrier": "movil", "source": "584141110001", "destination": "1234", "reference": 5, "total": 3,
              "seq": 2, "text": "B", "received_at_ms": 0, "expires_at_ms": 10**13}

    async def part_2_stored_first(*args: Any) -> None:
        if not intercepted:
            # ...but part 2 is stored (and so answered) just before; its own hand-on comes after.
            intercepted.append(await world.writer.write(lambda c: mo_store.add(c, part_2)))
        await original(*args)

    world.parts._hand_on = part_2_stored_first
    await world.parts.expire()
    await world.parts._hand_on_group(mo_store.group_of(part_2), intercepted[0])  # part 2's receive goes on
    assert intercepted == [["A", "B", "C"]]
    assert [h[3] for h in world.handed_on] == ["ABC"]  # the sweep's "AC" was rolled back: B is kept
    assert world.stored_parts() == 0
