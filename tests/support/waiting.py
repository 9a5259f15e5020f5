"""Waiting in tests for something a running process does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """The first truthy value of ``predicate()`` within ``timeout`` seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return value


async def wait_until_async(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.02) -> T:
    """``wait_until`` for a test whose event loop runs what it waits for: it sleeps without blocking it."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
    return value
