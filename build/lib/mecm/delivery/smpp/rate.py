"""Pacing for one carrier: the window, the rate limit, the observed rate and the reconnect backoff.

Each takes its clock (and sleep) as arguments, so unit tests drive them with a fake clock.

* ``Window``: at most ``size`` submit_sm outstanding without a response.
* ``TokenBucket``: at most ``rate`` submit_sm in any one second. It hands out *slots* spaced
  ``1.01 / rate`` apart (1 % below the limit, so loopback or network jitter cannot push a
  carrier's own per-second count over it), reserved in arrival order, with no burst. A
  reservation is made before sleeping, so a waiter that wakes a little late does not push back
  the slots after it (the rate is kept, not eroded by scheduling delays); and a log of the last
  ``rate`` sends makes the bound strict even then: the next send waits until the one ``rate``
  sends ago is more than a padded second old (1 % and 50 ms, for jitter on the way). ``pause`` holds every slot back after the SMSC
  said it is throttling us. Take the token right before writing the PDU (after the window).
* ``RateMeter``: submits per second over the last few seconds, for ``status()``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Self

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Window:
    def __init__(self, size: int) -> None:
        self.size = size
        self.in_use = 0
        self._free = asyncio.Semaphore(size)

    async def __aenter__(self) -> Self:
        await self._free.acquire()
        self.in_use += 1
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.in_use -= 1
        self._free.release()


_MARGIN = 1.01  # slots 1 % further apart than the rate asks
# A second's worth of sends is kept this much longer than a second apart: a carrier counts arrivals,
# and a burst of network or scheduling delay (tens of ms on a busy host) would otherwise land two
# seconds' tails in one of its seconds. Costs about 5 % of the rate when sending flat out.
_JITTER_S = 0.05


class TokenBucket:
    def __init__(self, rate: float, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.rate = rate
        self._interval = _MARGIN / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # the earliest time the next slot may be used
        self._paused_until = 0.0
        self._log: deque[float] = deque(maxlen=max(1, int(rate)))  # the last sends, oldest first

    def reserve(self) -> float:
        """Reserve the next slot; return how long to wait for it (0 when it is free now)."""
        now = self._clock()
        start = max(now, self._next, self._paused_until)
        self._next = start + self._interval
        return start - now

    async def take(self) -> None:
        """Wait for this caller's slot; the caller sends at once (no await in between)."""
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)
        while self._clock() < self._paused_until:  # paused while this caller waited: a slot after it
            await self._sleep(self.reserve())
        if not self._interval:
            return
        span = self._log.maxlen * self._interval + _JITTER_S  # type: ignore[operator]
        while len(self._log) == self._log.maxlen and (wait := self._log[0] + span - self._clock()) > 0:
            await self._sleep(wait)
        self._log.append(self._clock())

    def may_wait(self) -> bool:
        """Whether take() can suspend the caller (a rate is set, or a pause is on)."""
        return bool(self._interval) or self._clock() < self._paused_until

    def pause(self, seconds: float) -> None:
        """No send before ``seconds`` from now (the SMSC throttled us), callers already waiting for
        a slot included: they take a new one after the pause, spaced as usual."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)


class RateMeter:
    """Events per second over the last ``span_s`` whole seconds."""

    def __init__(self, span_s: int = 5, clock: Clock = time.monotonic) -> None:
        self._span = span_s
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [second, count], oldest first

    def record(self, n: int = 1) -> None:
        second = int(self._clock())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += n
        else:
            self._buckets.append([second, n])
        self._prune(second)

    def rate(self) -> float:
        second = int(self._clock())
        self._prune(second)
        # the current second is partial: count the span before it
        done = sum(count for s, count in self._buckets if s < second)
        return round(done / self._span, 1)

    def _prune(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] < second - self._span:
            self._buckets.popleft()


def reconnect_delay(
    failures: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff after ``failures`` consecutive failed binds (0 = first), capped, with jitter
    (a random 50 to 100 % of the step), so many workers losing one SMSC do not come back in step."""
    step = min(cap_s, base_s * 2 ** min(failures, 30))
    return step * (0.5 + rand() / 2)


def slow_down_delay(consecutive: int, base_s: float = 1.0, cap_s: float = 30.0) -> float:
    """How long to hold submits after the ``consecutive``-th throttle in a row (1 = first)."""
    return min(cap_s, base_s * 2 ** max(0, min(consecutive, 30) - 1))


class Latencies:
    """The last ``size`` submit latencies (submit_sm sent to its response), for /metrics' quantiles."""

    def __init__(self, size: int = 1024) -> None:
        self._seconds: deque[float] = deque(maxlen=size)

    def record(self, seconds: float) -> None:
        self._seconds.append(seconds)

    def quantile_ms(self, q: float) -> float:
        """The ``q`` quantile (0..1) in milliseconds; 0 before any submit was answered."""
        if not self._seconds:
            return 0.0
        ordered = sorted(self._seconds)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)
