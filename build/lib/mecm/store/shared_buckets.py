"""Token buckets shared by every API process of a deployment on PostgreSQL (table rate_buckets).

A process does not go to the database for each request: it *leases* a few tokens at a time (the
limit's lease size, domain/ratelimit.py) and spends them locally, coming back when they run out. A
lease is one statement: it refills the row for the time gone by, takes up to the tokens asked for,
and returns how many it took and how many are left, under the row's lock, so that processes leasing
at once never take the same token. Every token accepted anywhere was taken from the row, so the
deployment never accepts more than the limit allows; what it may under-use is the tokens processes
hold unused (at most one lease each).

Each process's own clock gives the time (milliseconds); the row keeps the latest time it was given,
so a process whose clock is a little behind gains no tokens rather than taking some twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mecm.domain.ratelimit import Limit
from mecm.errors import StoreError

# The CTE locks the row and reads it at its newest version (FOR UPDATE waits for a concurrent lease
# to commit, then sees what it left); the UPDATE writes what remains after this lease.
_LEASE = text("""
WITH now_row AS (
    SELECT name,
           LEAST(CAST(:burst AS double precision),
                 tokens + GREATEST(0, :now_ms - updated_at_ms) * CAST(:rate AS double precision) / 1000.0)
               AS tokens
    FROM rate_buckets WHERE name = :name FOR UPDATE
)
UPDATE rate_buckets AS b
SET tokens = now_row.tokens - FLOOR(LEAST(CAST(:want AS double precision), now_row.tokens)),
    updated_at_ms = GREATEST(b.updated_at_ms, :now_ms)
FROM now_row
WHERE b.name = now_row.name
RETURNING FLOOR(LEAST(CAST(:want AS double precision), now_row.tokens)) AS granted, b.tokens AS tokens_left
""")
_CREATE = text("""
INSERT INTO rate_buckets (name, tokens, updated_at_ms) VALUES (:name, :burst, :now_ms)
ON CONFLICT (name) DO NOTHING
""")


@dataclass(frozen=True)
class Lease:
    granted: int  # tokens now this process's to spend
    tokens_left: float  # in the shared bucket after this lease (for the Retry-After of a refusal)


class SharedBuckets:
    """Leases on one autocommit connection of its own (thread-safe: one lease at a time)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def lease(self, name: str, limit: Limit, want: int, now_ms: int) -> Lease:
        params = {"name": name, "burst": limit.burst, "rate": limit.rate_per_s, "want": want, "now_ms": now_ms}
        with self._lock:
            try:
                connection = self._connect()
                row = connection.execute(_LEASE, params).first()
                if row is None:  # the first lease of this bucket: it starts full
                    connection.execute(_CREATE, params)
                    row = connection.execute(_LEASE, params).first()
            except DBAPIError as error:
                self._drop_connection()  # the next lease connects afresh (the database may be back)
                raise StoreError(f"rate limit lease failed: {error.__class__.__name__}") from error
        assert row is not None
        return Lease(int(row.granted), float(row.tokens_left))

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - it is broken already
                pass
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
