"""The wake-up datagrams from the API to its worker: few under load, and never one too few."""

from __future__ import annotations

import asyncio
import os
import socket

from mecm.delivery.worker_link import WakeSender
from tests.support.databases import no_database
from tests.support.waiting import wait_until_async

pytestmark = no_database


async def test_wakes_are_coalesced_under_load_and_the_last_one_always_arrives() -> None:
    address = f"\0mecm-test-wake-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.setblocking(False)
    interval_s = 0.05
    sender = WakeSender(address, min_interval_s=interval_s)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        for _ in range(200):  # 200 accepted messages over ~20 loop turns
            sender.wake()
            await asyncio.sleep(0.001) if _ % 10 == 0 else None
        took_s = loop.time() - started
        # The trailing wake is due at most an interval after the last wake() and its timer comes
        # before this sleep's in the loop's order: when the sleep ends, it has been sent.
        await asyncio.sleep(2 * interval_s)
        received = _drain(listener)
        # One at once, then at most one per interval, one trailing: not one per loop turn (20). A
        # loaded machine that took longer over the loop allows more, by the same rule.
        assert 1 <= received <= 2 + int(took_s / interval_s)
        sender.wake()  # an idle sender wakes at once (or an interval after the trailing one)
        await wait_until_async(lambda: _drain(listener) > 0, timeout=10)
    finally:
        sender.close()
        listener.close()


def _drain(listener: socket.socket) -> int:
    """How many datagrams are waiting, read."""
    received = 0
    while True:
        try:
            listener.recv(16)
        except BlockingIOError:
            return received
        received += 1
