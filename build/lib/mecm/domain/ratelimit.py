"""The token bucket, as values: a limit, a bucket's state, and what taking from it decides.

A bucket holds up to ``burst`` tokens and gains ``rate_per_s`` a second; a request takes one. Taking
returns the new bucket (the caller keeps it) and, when there was no whole token, how many whole
seconds until there is one (the ``Retry-After`` of a RATE_LIMITED answer, SPEC section 9). Time is
passed in (seconds on any clock that does not go back), never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from mecm.errors import InvalidParameter

CLASSES = ("sends", "pins", "reads")  # what a limit applies to (services/ratelimits.py maps the methods)
MAX_RATE_PER_S = 1_000_000.0
MAX_BURST = 10_000_000
# Share of a limit that one API process leases from the shared bucket at a time (PostgreSQL): the
# tokens a process holds unused are the most a deployment can under-use, so keep it small.
LEASE_SHARE = 0.05
MAX_LEASE = 1000


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not 0 < self.rate_per_s <= MAX_RATE_PER_S:
            raise InvalidParameter("rate", f"must be above 0 and at most {MAX_RATE_PER_S:.0f} per second")
        if not 1 <= self.burst <= MAX_BURST:
            raise InvalidParameter("burst", f"must be 1 to {MAX_BURST}")


# Bucket and Taken are made for every request: named tuples, values as cheap to build as Python has.
class Bucket(NamedTuple):
    tokens: float
    at_s: float  # when ``tokens`` was counted

    @staticmethod
    def full(limit: Limit, now_s: float) -> Bucket:
        return Bucket(float(limit.burst), now_s)


class Taken(NamedTuple):
    bucket: Bucket
    granted: int  # tokens taken: the asked count, or 0
    retry_after_s: int  # 0 when granted, else whole seconds (>= 1) until enough tokens


def refill(bucket: Bucket, limit: Limit, now_s: float) -> Bucket:
    """The bucket at ``now_s``: tokens gained since it was counted, at most the burst. A clock that
    seems to go back gains nothing (and does not move the bucket's time back)."""
    elapsed = max(0.0, now_s - bucket.at_s)
    return Bucket(min(float(limit.burst), bucket.tokens + elapsed * limit.rate_per_s), max(now_s, bucket.at_s))


def take(bucket: Bucket, limit: Limit, now_s: float, count: int = 1) -> Taken:
    """Take ``count`` tokens if the bucket has them at ``now_s``; else take none."""
    current = refill(bucket, limit, now_s)
    if current.tokens >= count:
        return Taken(Bucket(current.tokens - count, current.at_s), count, 0)
    return Taken(current, 0, retry_after_s(count - current.tokens, limit.rate_per_s))


def retry_after_s(missing_tokens: float, rate_per_s: float) -> int:
    """Whole seconds until ``missing_tokens`` have come in, at least 1 (a Retry-After of 0 would
    invite an immediate retry that is refused again)."""
    return max(1, math.ceil(missing_tokens / rate_per_s - 1e-9))


def lease_size(limit: Limit) -> int:
    """How many tokens one process takes from a shared bucket at a time: a small share of both the
    rate and the burst, so that tokens a process holds unused stay a small part of the limit."""
    return max(1, min(MAX_LEASE, int(limit.rate_per_s * LEASE_SHARE), int(limit.burst * LEASE_SHARE)))


def parse_limit(rate_raw: object, burst_raw: object) -> Limit:
    """A limit from text or numbers (CLI, admin API); InvalidParameter naming ``rate`` or ``burst``."""
    try:
        rate = float(rate_raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameter("rate", "must be a number (tokens per second)") from None
    if isinstance(rate_raw, bool) or not math.isfinite(rate):
        raise InvalidParameter("rate", "must be a number (tokens per second)")
    if isinstance(burst_raw, bool) or (isinstance(burst_raw, float) and not burst_raw.is_integer()):
        raise InvalidParameter("burst", "must be a whole number")
    try:
        burst = int(burst_raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidParameter("burst", "must be a whole number") from None
    return Limit(rate, burst)


def parse_class(raw: str) -> str:
    if raw not in CLASSES:
        raise InvalidParameter("class", f"must be one of {', '.join(CLASSES)}")
    return raw
