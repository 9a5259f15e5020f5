"""Deadlines: the simulator's delayed calls (receipts, latencies, deliver_sm timeouts) on one timer.

Deadlines asks its loop for two things only, ``time()`` and ``call_at()``; these tests hand it a loop
whose clock moves when the test says so, so that what runs when does not depend on how busy the
machine is (an earlier version slept on a real loop and failed when the machine stalled 10 ms).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from mecm.smsc_sim.timers import Deadlines


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualLoop:
    """An event loop's timers on a clock that only ``advance`` moves."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._timers: list[tuple[float, int, _Handle, Callable[[], Any]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], Any]) -> _Handle:
        handle = _Handle()
        heapq.heappush(self._timers, (when, next(self._order), handle, callback))
        return handle

    def armed(self) -> int:
        return sum(not handle.cancelled for _, _, handle, _ in self._timers)

    def advance(self, seconds: float) -> None:
        """Move the clock on, running each timer that comes due on the way, at its own time."""
        end = self.now + seconds
        while self._timers and self._timers[0][0] <= end:
            when, _, handle, callback = heapq.heappop(self._timers)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            callback()
        self.now = end


def test_calls_run_in_deadline_order_then_in_the_order_made() -> None:
    loop = ManualLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    ran: list[str] = []
    for name, delay in (("c", 0.06), ("a", 0.02), ("b1", 0.04), ("b2", 0.04)):
        deadlines.call_later(delay, ran.append, name)
    loop.advance(0.03)
    assert ran == ["a"]
    loop.advance(0.1)
    assert ran == ["a", "b1", "b2", "c"]
    assert len(deadlines) == 0


def test_one_loop_timer_is_armed_however_many_calls_wait() -> None:
    loop = ManualLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    for i in range(1000):
        deadlines.call_later(1.0 + i / 1000, lambda: None)
    assert len(deadlines) == 1000
    assert loop.armed() == 1


def test_a_later_call_made_while_running_does_not_hold_back_an_earlier_one() -> None:
    loop = ManualLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    ran: list[str] = []
    deadlines.call_later(0.05, ran.append, "earlier")
    # runs first and schedules a call due after "earlier": "earlier" must still come on time
    deadlines.call_later(0.0, lambda: deadlines.call_later(0.5, ran.append, "later"))
    loop.advance(0.051)
    assert ran == ["earlier"]
    deadlines.clear()
    loop.advance(1.0)
    assert ran == ["earlier"]
    assert len(deadlines) == 0
