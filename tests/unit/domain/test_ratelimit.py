"""The token bucket as values (domain/ratelimit.py), with time passed in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.ratelimit import Bucket, Limit, lease_size, parse_limit, retry_after_s, take
from mecm.errors import InvalidParameter


def drain(bucket: Bucket, limit: Limit, now: float, asked: int) -> tuple[Bucket, int, list[int]]:
    granted, waits = 0, []
    for _ in range(asked):
        taken = take(bucket, limit, now)
        bucket = taken.bucket
        granted += taken.granted
        if not taken.granted:
            waits.append(taken.retry_after_s)
    return bucket, granted, waits


def test_a_full_bucket_grants_its_burst_at_once_then_refuses() -> None:
    limit = Limit(rate_per_s=2, burst=5)
    _, granted, waits = drain(Bucket.full(limit, 0.0), limit, 0.0, 8)
    assert granted == 5
    assert waits == [1, 1, 1]  # half a second to the next token: a whole second, never 0


def test_tokens_come_back_at_the_rate_and_never_above_the_burst() -> None:
    limit = Limit(rate_per_s=10, burst=20)
    bucket, _, _ = drain(Bucket.full(limit, 0.0), limit, 0.0, 20)
    _, granted, _ = drain(bucket, limit, 0.5, 100)  # half a second: 5 tokens
    assert granted == 5
    _, granted, _ = drain(bucket, limit, 1000.0, 100)  # a long idle time fills it to the burst only
    assert granted == 20


def test_the_retry_after_is_the_whole_seconds_until_a_token() -> None:
    limit = Limit(rate_per_s=0.1, burst=1)  # one token every 10 s
    bucket, _, _ = drain(Bucket.full(limit, 0.0), limit, 0.0, 1)
    assert take(bucket, limit, 0.0).retry_after_s == 10
    assert take(bucket, limit, 7.5).retry_after_s == 3
    assert take(bucket, limit, 10.0).granted == 1


def test_a_clock_that_goes_back_gains_nothing() -> None:
    limit = Limit(rate_per_s=1, burst=3)
    bucket, _, _ = drain(Bucket.full(limit, 100.0), limit, 100.0, 3)
    taken = take(bucket, limit, 50.0)
    assert taken.granted == 0
    assert taken.bucket.at_s == 100.0  # and the bucket's time does not move back either


@given(rate=st.floats(0.01, 1000), burst=st.integers(1, 500), steps=st.lists(st.floats(0, 5), max_size=50))
def test_never_more_than_the_burst_plus_the_rate_times_the_time(rate: float, burst: int, steps: list[float]) -> None:
    limit = Limit(rate, burst)
    bucket, now, granted = Bucket.full(limit, 0.0), 0.0, 0
    for step in steps:
        now += step
        bucket, got, _ = drain(bucket, limit, now, 50)
        granted += got
    assert granted <= burst + rate * now + 1e-6


def test_retry_after_is_at_least_one_second() -> None:
    assert retry_after_s(0.001, 1000) == 1
    assert retry_after_s(3, 1) == 3


def test_a_lease_is_a_small_share_of_the_limit() -> None:
    assert lease_size(Limit(1000, 2000)) == 50
    assert lease_size(Limit(1, 200)) == 1
    assert lease_size(Limit(1_000_000, 1_000_000)) == 1000


@pytest.mark.parametrize(("rate", "burst", "parameter"), [
    ("fast", "10", "rate"), ("0", "10", "rate"), ("-1", "10", "rate"), ("nan", "10", "rate"), ("2e6", "10", "rate"),
    ("10", "0", "burst"), ("10", "1.5", "burst"), ("10", "many", "burst"), (True, 10, "rate"),
])
def test_bad_limits_name_the_parameter(rate: object, burst: object, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_limit(rate, burst)
    assert refused.value.name == parameter
