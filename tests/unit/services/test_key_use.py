"""Per request, a key's expiry against the clock of that moment; last-used times buffered in memory and
written in one batch, never moving backwards."""

from __future__ import annotations

import asyncio

from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from mecm.services.catalog import ApiKey
from mecm.services.key_use import KeyUse
from mecm.store import admin, keys
from mecm.store.crypto import Vault
from mecm.store.tables import api_keys
from mecm.store.writer import GroupCommitWriter

EXPIRY = 1_800_000_000_000


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def key(public_key: str = "PUB", expires_at_ms: int | None = EXPIRY) -> ApiKey:
    return ApiKey(public_key, "private", 1, expires_at_ms)


def test_a_key_is_admitted_until_its_expiry_instant_by_the_clock_of_each_request() -> None:
    clock = Clock(EXPIRY - 1)
    use = KeyUse(clock)
    assert use.admit(key())
    clock.now_ms = EXPIRY  # the same catalog entry: no reload between the two requests
    assert not use.admit(key())
    assert use.admit(key(expires_at_ms=None))


def test_an_expired_key_is_not_noted_as_used() -> None:
    clock = Clock(EXPIRY - 5)
    use = KeyUse(clock)
    use.admit(key())
    clock.now_ms = EXPIRY + 5
    use.admit(key())
    assert use.take() == {"PUB": EXPIRY - 5}


def test_take_hands_over_the_latest_use_of_each_key_once() -> None:
    clock = Clock(100)
    use = KeyUse(clock)
    use.admit(key("A"))
    clock.now_ms = 200
    use.admit(key("A"))
    use.admit(key("B"))
    assert use.take() == {"A": 200, "B": 200}
    assert use.take() == {}


def test_put_back_after_a_failed_write_keeps_the_later_time_of_each_key() -> None:
    clock = Clock(100)
    use = KeyUse(clock)
    use.admit(key("A"))
    use.admit(key("B"))
    failed = use.take()
    clock.now_ms = 300
    use.admit(key("A"))  # a request while the write was failing
    use.put_back(failed)
    assert use.take() == {"A": 300, "B": 100}


def _stored(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as c:
        return dict(c.execute(select(api_keys.c.public_key, api_keys.c.last_used_at_ms)).all())


def test_flush_writes_the_uses_and_a_slower_process_never_moves_one_backwards(engine: Engine) -> None:
    with engine.begin() as c:
        workspace = admin.create_workspace(c, "w")["instance_id"]
        vault = Vault(Fernet.generate_key())
        pairs = [keys.create_key(c, vault, workspace, 0) for _ in range(3)]
    a, b, idle = (p["public_key"] for p in pairs)
    writer = GroupCommitWriter(engine)
    try:
        first, second = KeyUse(Clock(500)), KeyUse(Clock(400))  # two API processes
        first.admit(key(a))
        second.admit(key(a))
        second.admit(key(b))
        asyncio.run(first.flush(writer))
        asyncio.run(second.flush(writer))  # its use of A is older than the one stored
        assert _stored(engine) == {a: 500, b: 400, idle: None}
        asyncio.run(second.flush(writer))  # nothing used since: nothing to write
        assert second.take() == {}
    finally:
        writer.close()

