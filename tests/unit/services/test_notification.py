"""A notification (services/notification.py) calls its callbacks in the order subscribed; notify_awaiting
awaits each awaitable result before the next callback, and an exception stops the rest."""

from __future__ import annotations

import asyncio

import pytest

from mecm.services.notification import Notification
from tests.support.databases import no_database

pytestmark = no_database


def test_notify_calls_each_callback_in_the_order_subscribed() -> None:
    calls: list[str] = []
    changed: Notification[[str]] = Notification()
    changed.subscribe(lambda what: calls.append(f"first {what}"))
    changed.subscribe(lambda what: calls.append(f"second {what}"))
    changed.notify("stop")
    assert calls == ["first stop", "second stop"]


async def test_notify_awaiting_awaits_each_coroutine_before_the_next_callback() -> None:
    calls: list[str] = []
    changed: Notification[[]] = Notification()

    released = asyncio.Event()

    async def slow() -> None:
        calls.append("slow begun")
        await released.wait()  # another task runs meanwhile: the next callback still waits
        calls.append("slow done")

    async def release() -> None:
        calls.append("released")
        released.set()

    changed.subscribe(slow)
    changed.subscribe(lambda: calls.append("plain"))
    await asyncio.gather(changed.notify_awaiting(), release())
    assert calls == ["slow begun", "released", "slow done", "plain"]


async def test_a_callback_that_raises_stops_the_rest_and_reaches_the_sender() -> None:
    calls: list[str] = []
    changed: Notification[[]] = Notification()

    async def failing() -> None:
        raise RuntimeError("refresh failed")

    changed.subscribe(failing)
    changed.subscribe(lambda: calls.append("after"))
    with pytest.raises(RuntimeError):
        await changed.notify_awaiting()
    assert calls == []
