"""The wake-up datagrams from the API to its worker: few under load, and never one too few."""

from __future__ import annotations

import asyncio
import os
import socket

from mecm.delivery.worker_link import WakeSender
from tests.support.databases import no_database

pytestmark = no_database


async def test_wakes_are_coalesced_under_load_and_the_last_one_always_arrives() -> None:
    address = f"\0mecm-test-wake-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.setblocking(False)
    sender = WakeSender(address, min_interval_s=0.05)
    try:
        for _ in range(200):  # 200 accepted messages over ~20 loop turns, all within 50 ms
            sender.wake()
            await asyncio.sleep(0.001) if _ % 10 == 0 else None
        await asyncio.sleep(0.12)  # the trailing wake goes after the interval
        received = 0
        while True:
            try:
                listener.recv(16)
            except BlockingIOError:
                break
            received += 1
        assert 1 <= received <= 3  # one at once, one trailing the interval (not 20, one per turn)
        sender.wake()  # an idle sender wakes at once
        await asyncio.sleep(0.01)
        assert listener.recv(16) == b"!"
    finally:
        sender.close()
        listener.close()
