"""TokenBucket.pause holds back callers that were already waiting for a slot (the SMSC throttled
someone while they slept), and the slots after the pause keep their spacing."""

from __future__ import annotations

from mecm.delivery.smpp.rate import TokenBucket
from tests.support.databases import no_database

pytestmark = no_database


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_pause_holds_back_a_caller_already_waiting_and_keeps_the_spacing() -> None:
    clock = Clock()
    throttled_meanwhile = []

    async def sleep(seconds: float) -> None:
        if not throttled_meanwhile:  # while the first waiter sleeps, the SMSC throttles a submit
            throttled_meanwhile.append(clock.now)
            bucket.pause(2.0)
        clock.now += seconds

    bucket = TokenBucket(10, clock=clock, sleep=sleep)
    await bucket.take()  # the first slot is free at once
    assert clock.now == 1000.0
    await bucket.take()  # its slot was at +0.101, but the pause came while it waited
    assert clock.now >= 1002.0
    after_pause = clock.now
    await bucket.take()
    assert clock.now - after_pause >= 0.1  # spaced as the rate asks, not a burst after the pause


async def test_without_a_rate_only_a_pause_makes_a_caller_wait() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    bucket = TokenBucket(0, clock=clock, sleep=sleep)
    assert not bucket.may_wait()
    await bucket.take()
    assert clock.now == 1000.0
    bucket.pause(1.5)
    assert bucket.may_wait()
    await bucket.take()
    assert clock.now == 1001.5 and not bucket.may_wait()


def test_submit_latency_quantiles_come_from_the_latest_answers() -> None:
    from mecm.delivery.smpp.rate import Latencies

    latencies = Latencies(size=100)
    assert latencies.quantile_ms(0.99) == 0.0  # nothing answered yet
    for _ in range(200):
        latencies.record(5.0)  # an old, slow period: pushed out of the window below
    for i in range(100):
        latencies.record((i + 1) / 1000)  # 1..100 ms
    assert latencies.quantile_ms(0.5) == 51.0
    assert latencies.quantile_ms(0.99) == 100.0
