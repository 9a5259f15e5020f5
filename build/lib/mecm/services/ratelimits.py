"""Rate limits on the API (SPEC section 9): a token bucket per workspace and per key, for each class
of methods, checked after the parameters and before anything is written.

A request of class ``sends`` by key K of workspace W takes a token from K's bucket, if K has a limit
of its own (``mecm admin limit set --key``), then from W's (its own limit, else the settings'
default for the class). An empty bucket refuses with RATE_LIMITED, naming the limit, and a
Retry-After of the whole seconds until a token comes in.

On SQLite (one API process) the buckets are this process's. On PostgreSQL every API process leases
tokens from buckets in the database (store/shared_buckets.py), a few at a time, so they share one
limit. What a request costs: one dictionary look-up (the buckets and limits of its workspace, key
and class, resolved once per reading of the catalog) and a little arithmetic per bucket; on
PostgreSQL one database statement per lease (about 5 % of the limit's rate or burst, at most 1,000
requests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mecm.config import Settings
from mecm.domain.ratelimit import CLASSES, Limit, lease_size, retry_after_s
from mecm.errors import RateLimited
from mecm.services.catalog import Catalog
from mecm.store.shared_buckets import SharedBuckets

# Which class each API method's requests count against.
METHOD_CLASSES = {
    "sendSMS": "sends", "sendMT": "sends", "fireMessage": "sends",
    "sendSMSPinMobileNumberConfirm": "pins", "verifyPin": "pins",
    "getMOMessages": "reads", "getMessage": "reads",
}


def default_limits(settings: Settings) -> dict[str, Limit | None]:
    """The settings' limit of each class for every workspace (None: a rate of 0, no default)."""
    limits: dict[str, Limit | None] = {}
    for limit_class in CLASSES:
        rate = getattr(settings, f"rate_{limit_class}_per_s")
        limits[limit_class] = Limit(rate, getattr(settings, f"rate_{limit_class}_burst")) if rate > 0 else None
    return limits


def with_defaults(rows: list[dict[str, Any]], workspace_id: int | None, settings: Settings) -> list[dict[str, Any]]:
    """Limits as set (store/rate_limits.py list_limits), marked ``source: set``; for one workspace,
    followed by the settings' default of each class it has none of its own for."""
    listed = [{**row, "source": "set"} for row in rows]
    if workspace_id is None:
        return listed
    own = {row["class"] for row in rows if row["key"] is None}
    for limit_class, limit in default_limits(settings).items():
        if limit_class not in own:
            listed.append({"instance_id": workspace_id, "key": None, "class": limit_class,
                           "rate_per_s": limit.rate_per_s if limit else None,
                           "burst": limit.burst if limit else None, "source": "default" if limit else "none"})
    return listed


@dataclass
class _Share:
    """This process's part of a shared bucket: tokens leased and not yet spent."""

    tokens: int = 0
    refused_until: float = 0.0  # the shared bucket was empty: refuse here until then, without asking
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one lease at a time per bucket


class _LocalBucket:
    """One bucket of this process, counted in place: ``take`` in domain/ratelimit.py's arithmetic
    without building a Bucket and a Taken per request (bench/guard_cpu.py limiter: two buckets, 2 us)."""

    __slots__ = ("tokens", "at_s")

    def __init__(self, limit: Limit, now_s: float) -> None:
        self.tokens = float(limit.burst)
        self.at_s = now_s

    def take_one(self, limit: Limit, now_s: float) -> int:
        """Take a token if there is one at ``now_s``: 0, else the whole seconds until there is."""
        if now_s > self.at_s:  # a clock that seems to go back gains nothing (refill)
            self.tokens = min(float(limit.burst), self.tokens + (now_s - self.at_s) * limit.rate_per_s)
            self.at_s = now_s
        else:
            self.tokens = min(float(limit.burst), self.tokens)  # a burst lowered since
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return retry_after_s(1 - self.tokens, limit.rate_per_s)


# A bucket's name: (scope, who, class), scope "k" a key (who: its public key) or "w" a workspace
# (who: its id). Tuples, not text, for the per-request look-ups; the text form names a shared bucket.
_BucketName = tuple[str, Any, str]
_WHICH = {"k": "of this key", "w": "of this workspace"}


def _refusal(retry_after: int, name: _BucketName) -> RateLimited:
    return RateLimited(retry_after, f"{name[2]} {_WHICH[name[0]]}")


class RateLimiter:
    def __init__(self, settings: Settings, catalog: Callable[[], Catalog], *,
                 shared: SharedBuckets | None = None, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        """``clock``: seconds for the local buckets; ``wall_clock``: epoch seconds for the shared ones,
        which every process of the deployment must read alike."""
        self._defaults = default_limits(settings)
        self._catalog = catalog
        self._shared = shared
        self._clock = clock
        self._wall_clock = wall_clock
        self._buckets: dict[_BucketName, _LocalBucket] = {}
        self._shares: dict[_BucketName, _Share] = {}
        # What a (workspace, key, class) takes from: its buckets in order, each with its limit and its
        # local bucket (None on PostgreSQL), as the catalog ``_planned_for`` says; made anew for each
        # reading of the catalog, which is where a limit set or removed arrives.
        self._plans: dict[tuple[int, str, str], tuple[tuple[_BucketName, Limit, _LocalBucket | None], ...]] = {}
        self._planned_for: Catalog | None = None

    async def admit(self, workspace_id: int, public_key: str, limit_class: str) -> None:
        """Take a token for one request, or raise RateLimited saying which limit refused."""
        catalog = self._catalog()
        if catalog is not self._planned_for:
            self._plans.clear()
            self._planned_for = catalog
        plan = self._plans.get((workspace_id, public_key, limit_class))
        if plan is None:
            plan = self._plan(catalog, workspace_id, public_key, limit_class)
        if self._shared is None:  # no await at all: this process's buckets, one reading of the clock
            if plan:
                now = self._clock()
                for name, limit, bucket in plan:
                    retry_after = bucket.take_one(limit, now)  # type: ignore[union-attr]
                    if retry_after:
                        raise _refusal(retry_after, name)
            return
        for name, limit, _ in plan:
            await self._take_shared(name, limit)

    def _plan(self, catalog: Catalog, workspace_id: int, public_key: str,
              limit_class: str) -> tuple[tuple[_BucketName, Limit, _LocalBucket | None], ...]:
        """The key's bucket, if it has a limit of its own, then the workspace's (its own limit, else
        the settings' default), each with its local bucket (made full on first use)."""
        limits = catalog.rate_limits
        named = [(("k", public_key, limit_class), limits.get((workspace_id, public_key, limit_class))),
                 (("w", workspace_id, limit_class),
                  limits.get((workspace_id, "", limit_class)) or self._defaults[limit_class])]
        plan = tuple((name, limit, self._local_bucket(name, limit)) for name, limit in named if limit is not None)
        self._plans[(workspace_id, public_key, limit_class)] = plan
        return plan

    def _local_bucket(self, name: _BucketName, limit: Limit) -> _LocalBucket | None:
        if self._shared is not None:
            return None
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _LocalBucket(limit, self._clock())
        return bucket

    async def _take_shared(self, name: _BucketName, limit: Limit) -> None:
        share = self._shares.get(name)
        if share is None:
            share = self._shares[name] = _Share()
        if share.tokens > 0:
            share.tokens -= 1
            return
        self._refuse_if_empty(share, name)
        async with share.lock:  # requests arriving meanwhile wait for this lease, not lease again
            if share.tokens > 0:
                share.tokens -= 1
                return
            self._refuse_if_empty(share, name)
            assert self._shared is not None
            # The shared bucket's name, as every process of the deployment spells it.
            shared_name = f"{name[0]}:{name[1]}:{name[2]}"
            lease = await asyncio.to_thread(self._shared.lease, shared_name, limit, lease_size(limit),
                                            int(self._wall_clock() * 1000))
            if lease.granted:
                share.tokens = lease.granted - 1
                return
            missing = 1 - lease.tokens_left
            share.refused_until = self._clock() + missing / limit.rate_per_s
            raise _refusal(retry_after_s(missing, limit.rate_per_s), name)

    def _refuse_if_empty(self, share: _Share, name: _BucketName) -> None:
        wait = share.refused_until - self._clock()
        if wait > 0:
            raise _refusal(retry_after_s(wait, 1.0), name)
