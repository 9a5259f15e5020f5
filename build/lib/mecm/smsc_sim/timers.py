"""Many delayed calls for the price of one event-loop timer.

The simulator schedules a call per submit (its receipt, its latency) and per deliver_sm (taken back
when unanswered): tens of thousands at a time under load. ``loop.call_later`` would allocate a
TimerHandle for each and keep the loop's heap that large; here the calls wait in one heap of plain
tuples and only the earliest is armed as a loop timer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

_EARLY_S = 0.001  # calls due this soon run with the ones due now (the loop's clock is coarse)


class Deadlines:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._order = itertools.count()  # calls due at the same time run in the order they were made
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")

    def __len__(self) -> int:
        return len(self._heap)

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> None:
        when = self._loop.time() + max(0.0, delay_s)
        heapq.heappush(self._heap, (when, next(self._order), callback, args))
        if when < self._armed_for:
            self._arm(when)

    def clear(self) -> None:
        self._heap.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, float("inf")

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = when
        self._timer = self._loop.call_at(when, self._run)

    def _run(self) -> None:
        self._timer, self._armed_for = None, float("inf")
        heap = self._heap
        now = self._loop.time() + _EARLY_S
        while heap and heap[0][0] <= now:
            _, _, callback, args = heapq.heappop(heap)
            callback(*args)
        if heap and heap[0][0] < self._armed_for:  # callbacks above may have armed a later one
            self._arm(heap[0][0])
