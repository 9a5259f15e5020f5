"""The API's rate limiter in one process (services/ratelimits.py): which bucket a request takes
from, and what the refusal says, with a clock the test moves."""

from __future__ import annotations

import asyncio
import random

import pytest

from mecm.config import Settings
from mecm.domain.ratelimit import Bucket, Limit, refill, take
from mecm.errors import RateLimited
from mecm.services.catalog import Catalog
from mecm.services.ratelimits import RateLimiter
from mecm.store.shared_buckets import Lease
from tests.support.databases import no_database

pytestmark = no_database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted(limiter: RateLimiter, count: int, workspace: int = 1, key: str = "K1", cls: str = "sends") -> int:
    async def run() -> int:
        granted = 0
        for _ in range(count):
            try:
                await limiter.admit(workspace, key, cls)
                granted += 1
            except RateLimited:
                pass
        return granted

    return asyncio.run(run())


def limiter(limits: dict | None = None, clock: Clock | None = None, **settings: object) -> RateLimiter:
    catalog = Catalog(rate_limits=limits or {})
    return RateLimiter(Settings(**settings), lambda: catalog, clock=clock or Clock())  # type: ignore[arg-type]


def test_the_settings_default_limits_every_workspace_separately() -> None:
    clock = Clock()
    rl = limiter(clock=clock, rate_sends_per_s=5, rate_sends_burst=10)
    assert admitted(rl, 30, workspace=1) == 10
    assert admitted(rl, 30, workspace=2) == 10
    clock.now += 2  # 10 more tokens
    assert admitted(rl, 30, workspace=1) == 10


def test_classes_have_buckets_of_their_own() -> None:
    rl = limiter(rate_sends_per_s=1, rate_sends_burst=3, rate_reads_per_s=1, rate_reads_burst=4)
    assert admitted(rl, 10, cls="sends") == 3
    assert admitted(rl, 10, cls="reads") == 4


def test_a_key_limit_applies_on_top_of_its_workspace_limit() -> None:
    limits = {(1, "K1", "sends"): Limit(1, 2), (1, "", "sends"): Limit(1, 5)}
    rl = limiter(limits)
    assert admitted(rl, 10, key="K1") == 2  # its own limit
    assert admitted(rl, 10, key="K2") == 3  # the workspace's, less what K1 took


def test_a_rate_of_zero_in_the_settings_means_no_default_limit() -> None:
    assert admitted(limiter(rate_sends_per_s=0), 5000) == 5000


def test_the_refusal_says_which_limit_and_when_to_retry() -> None:
    rl = limiter({(1, "K1", "pins"): Limit(0.25, 1)})
    admitted(rl, 1, cls="pins")
    with pytest.raises(RateLimited) as refused:
        asyncio.run(rl.admit(1, "K1", "pins"))
    assert refused.value.retry_after_s == 4
    assert refused.value.description == "Too many requests, retry after 4 s: pins of this key"


def test_a_new_reading_of_the_catalog_changes_the_limits_and_keeps_what_was_taken() -> None:
    """The limiter resolves a request's buckets once per reading of the catalog: a limit set or
    removed applies from the next reading on, and a bucket keeps its tokens across readings."""
    clock = Clock()
    readings = [Catalog(rate_limits={})]
    rl = RateLimiter(Settings(rate_sends_per_s=1, rate_sends_burst=5), lambda: readings[-1], clock=clock)
    assert admitted(rl, 3, key="K1") == 3  # the default: 2 of 5 tokens left
    readings.append(Catalog(rate_limits={(1, "K1", "sends"): Limit(1, 1)}))
    assert admitted(rl, 5, key="K1") == 1  # the key's own limit now, on top of the workspace's
    assert admitted(rl, 5, key="K2") == 1  # the workspace's bucket as it was: 1 token left
    readings.append(Catalog(rate_limits={(1, "", "sends"): Limit(1, 100)}))
    clock.now += 3  # 3 tokens come into the workspace's bucket (its burst now 100), 1 into the key's
    assert admitted(rl, 5, key="K1") == 3  # the key's limit is gone: the workspace's alone counts


def test_a_limiter_counts_its_buckets_as_the_token_bucket_does() -> None:
    """The limiter counts in place (no values per request): it must grant, refuse and give the same
    Retry-After as domain/ratelimit.py's take, the clock going back now and then included."""
    rng = random.Random(12)
    clock = Clock()
    limit = Limit(rate_per_s=3.5, burst=4)
    rl = limiter({(1, "", "sends"): limit}, clock)

    async def run() -> None:
        bucket = Bucket.full(limit, clock.now)
        refusals = 0
        for _ in range(2000):
            clock.now += rng.choice((0.0, 0.01, 0.1, 0.3, 1.0, -0.2))
            expected = take(bucket, limit, clock.now)
            bucket = expected.bucket
            try:
                await rl.admit(1, "K1", "sends")
                retry_after = 0
            except RateLimited as refused:
                retry_after = refused.retry_after_s
                refusals += 1
            assert retry_after == expected.retry_after_s  # 0: granted
        assert 200 < refusals < 1800  # both answers were compared, many times

    asyncio.run(run())


class FakeShared:
    """The shared buckets' contract (store/shared_buckets.py) in memory: a lease takes up to ``want``
    whole tokens from one bucket per name."""

    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}
        self.leases = 0

    def lease(self, name: str, limit: Limit, want: int, now_ms: int) -> Lease:
        self.leases += 1
        now = now_ms / 1000
        bucket = refill(self.buckets.get(name) or Bucket.full(limit, now), limit, now)
        granted = int(min(want, bucket.tokens))
        self.buckets[name] = Bucket(bucket.tokens - granted, bucket.at_s)
        return Lease(granted, bucket.tokens - granted)


def shared_limiter(shared: FakeShared, clock: Clock, limits: dict) -> RateLimiter:
    catalog = Catalog(rate_limits=limits)
    return RateLimiter(Settings(), lambda: catalog, shared=shared, clock=clock,  # type: ignore[arg-type]
                       wall_clock=clock)


def test_processes_sharing_a_bucket_accept_its_burst_together_leasing_a_few_tokens_at_a_time() -> None:
    shared, clock = FakeShared(), Clock()
    limits = {(1, "", "sends"): Limit(rate_per_s=100, burst=200)}  # leases of 5 tokens
    first, second = shared_limiter(shared, clock, limits), shared_limiter(shared, clock, limits)
    granted = admitted(first, 150) + admitted(second, 150)
    assert granted == 200
    assert shared.leases <= 200 // 5 + 2 + 2  # a lease per 5 requests, and a refusal each
    assert admitted(first, 1) == 0  # the empty bucket seen once ...
    leases_before = shared.leases
    assert admitted(first, 50) + admitted(second, 50) == 0  # ... refuses here without asking again ...
    assert shared.leases == leases_before
    clock.now += 0.1  # ... until a token is due: 10 have come in
    assert admitted(first, 50) + admitted(second, 50) == 10


def test_a_shared_refusal_says_when_to_retry() -> None:
    shared, clock = FakeShared(), Clock()
    limiter_ = shared_limiter(shared, clock, {(1, "", "reads"): Limit(rate_per_s=0.5, burst=1)})
    assert admitted(limiter_, 1, cls="reads") == 1
    with pytest.raises(RateLimited) as refused:
        asyncio.run(limiter_.admit(1, "K1", "reads"))
    assert refused.value.retry_after_s == 2
    assert refused.value.description.endswith(": reads of this workspace")
