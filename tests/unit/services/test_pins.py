"""PinVerifier on a real database (SQLite, or PostgreSQL with MECM_TEST_DATABASE=postgresql) with an
injected clock: attempts, expiry, single use, the newest PIN only, and concurrent verifications
through two writers (two transactions racing for the same row)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import Engine

from mecm.domain.pin import hash_pin
from mecm.domain.pin_verification import Result, Verification
from mecm.services.pins import PinVerifier
from mecm.store.tables import pins
from mecm.store.writer import GroupCommitWriter

KEY = b"k" * 32
NUMBER = "13056708084"
T0 = 1_800_000_000.0  # seconds
TTL_MS = 600_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def add_pin(engine: Engine, message_id: int, pin: str, *, workspace: int = 1, number: str = NUMBER) -> None:
    with engine.begin() as c:
        c.execute(pins.insert(), [{"message_id": message_id, "workspace_id": workspace, "recipient": number,
                                   "pin_hash": hash_pin(pin, KEY), "expires_at_ms": int(T0 * 1000) + TTL_MS,
                                   "attempts": 0}])


@pytest.fixture()
def writer(engine: Engine):  # noqa: ANN201
    w = GroupCommitWriter(engine)
    yield w
    w.close()


async def test_right_pin_is_approved_once(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    verifier = PinVerifier(writer, KEY, 5, Clock())
    assert await verifier.verify(1, NUMBER, "123456") == Verification(Result.APPROVED, 0)
    assert await verifier.verify(1, NUMBER, "123456") == Verification(Result.NONE, 0)


async def test_five_wrong_guesses_lock_it_even_for_the_right_pin(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    verifier = PinVerifier(writer, KEY, 5, Clock())
    answers = [await verifier.verify(1, NUMBER, "000000") for _ in range(5)]
    assert answers == [Verification(Result.DENIED, left) for left in (4, 3, 2, 1, 0)]
    assert await verifier.verify(1, NUMBER, "123456") == Verification(Result.LOCKED, 0)
    assert await verifier.verify(1, NUMBER, "000000") == Verification(Result.LOCKED, 0)


async def test_the_attempts_are_a_setting(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    verifier = PinVerifier(writer, KEY, 2, Clock())
    assert (await verifier.verify(1, NUMBER, "1111")).attempts_left == 1
    assert (await verifier.verify(1, NUMBER, "1111")).attempts_left == 0
    assert (await verifier.verify(1, NUMBER, "123456")).result is Result.LOCKED


async def test_a_pin_expires_at_its_time(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    clock = Clock()
    verifier = PinVerifier(writer, KEY, 5, clock)
    clock.now = T0 + TTL_MS / 1000 - 0.001
    assert (await verifier.verify(1, NUMBER, "000000")).result is Result.DENIED
    clock.now = T0 + TTL_MS / 1000
    assert await verifier.verify(1, NUMBER, "123456") == Verification(Result.EXPIRED, 0)


async def test_no_pin_sent_is_none_and_workspaces_and_numbers_are_apart(engine: Engine,
                                                                        writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456", workspace=1)
    verifier = PinVerifier(writer, KEY, 5, Clock())
    assert await verifier.verify(2, NUMBER, "123456") == Verification(Result.NONE, 0)
    assert await verifier.verify(1, "584141234567", "123456") == Verification(Result.NONE, 0)
    assert (await verifier.verify(1, NUMBER, "123456")).result is Result.APPROVED


async def test_only_the_newest_pin_counts(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "111111")
    add_pin(engine, 2, "222222")  # sent later (ids grow with time): the older one is superseded
    verifier = PinVerifier(writer, KEY, 5, Clock())
    assert (await verifier.verify(1, NUMBER, "111111")).result is Result.DENIED
    assert (await verifier.verify(1, NUMBER, "222222")).result is Result.APPROVED


async def test_concurrent_right_guesses_approve_once(engine: Engine, writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    other = GroupCommitWriter(engine)  # a second writer: a transaction of its own, racing this one's
    try:
        verifiers = [PinVerifier(w, KEY, 5, Clock()) for w in (writer, other)]
        answers = await asyncio.gather(*(verifiers[i % 2].verify(1, NUMBER, "123456") for i in range(40)))
    finally:
        other.close()
    assert Counter(a.result for a in answers) == {Result.APPROVED: 1, Result.NONE: 39}


async def test_concurrent_wrong_guesses_get_no_more_than_the_attempts(engine: Engine,
                                                                      writer: GroupCommitWriter) -> None:
    add_pin(engine, 1, "123456")
    other = GroupCommitWriter(engine)
    try:
        verifiers = [PinVerifier(w, KEY, 5, Clock()) for w in (writer, other)]
        answers = await asyncio.gather(*(verifiers[i % 2].verify(1, NUMBER, f"{i:06d}") for i in range(1, 41)))
        assert Counter(a.result for a in answers) == {Result.DENIED: 5, Result.LOCKED: 35}
        assert sorted(a.attempts_left for a in answers if a.result is Result.DENIED) == [0, 1, 2, 3, 4]
        assert (await verifiers[0].verify(1, NUMBER, "123456")).result is Result.LOCKED
    finally:
        other.close()
