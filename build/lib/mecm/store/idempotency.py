"""The idempotency_keys table's statements (services/idempotency.py decides what they mean).

A key row is *live* while ``created_at_ms >= since_ms`` (the caller's now minus the window); an older
row is treated as absent everywhere, and ``take`` reuses it.

``take`` is one upsert: insert the key, or, if the workspace already has it, overwrite the row only
when it is no longer live. Its row count says whether this transaction now holds the key. On
PostgreSQL a second transaction inserting the same key waits for the first to end, then sees its
row (the SELECT after it reads the committed row, READ COMMITTED); on SQLite transactions take turns
and a later write in the same grouped transaction sees the earlier one's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class StoredAnswer:
    method: str
    fingerprint: str
    message_id: int
    answer: str
    created_at_ms: int

    def __repr__(self) -> str:  # the answer may be a sealed PIN answer: never in a log line
        return f"StoredAnswer(method={self.method!r}, message_id={self.message_id})"


_COLUMNS = "method, fingerprint, message_id, answer, created_at_ms"

_FIND = text(
    f"SELECT {_COLUMNS} FROM idempotency_keys"
    " WHERE workspace_id = :workspace_id AND key = :key AND created_at_ms >= :since_ms"
)

_TAKE = text(
    "INSERT INTO idempotency_keys (workspace_id, key, method, fingerprint, message_id, answer, created_at_ms)"
    " VALUES (:workspace_id, :key, :method, :fingerprint, :message_id, :answer, :created_at_ms)"
    " ON CONFLICT (workspace_id, key) DO UPDATE SET method = excluded.method,"
    " fingerprint = excluded.fingerprint, message_id = excluded.message_id, answer = excluded.answer,"
    " created_at_ms = excluded.created_at_ms"
    " WHERE idempotency_keys.created_at_ms < :since_ms"
)

# Row values (SQLite 3.15+, PostgreSQL) keep each sweep's delete to a bounded number of rows.
_DELETE_EXPIRED = text(
    "DELETE FROM idempotency_keys WHERE (workspace_id, key) IN ("
    " SELECT workspace_id, key FROM idempotency_keys WHERE created_at_ms < :before_ms"
    " ORDER BY created_at_ms LIMIT :limit)"
)


def find(connection: Connection, workspace_id: int, key: str, since_ms: int) -> StoredAnswer | None:
    """The live answer stored under the key, if any (one primary-key lookup)."""
    row = connection.execute(_FIND, {"workspace_id": workspace_id, "key": key, "since_ms": since_ms}).first()
    return None if row is None else StoredAnswer(*row)


def take(connection: Connection, row: dict[str, Any], since_ms: int) -> StoredAnswer | None:
    """Store ``row`` (workspace_id, key, method, fingerprint, message_id, answer, created_at_ms)
    under its key. None: this transaction holds the key now. Otherwise the live answer that already
    holds it (nothing was written)."""
    if connection.execute(_TAKE, {**row, "since_ms": since_ms}).rowcount == 1:
        return None
    holder = find(connection, row["workspace_id"], row["key"], since_ms)
    if holder is None:  # cannot happen: the conflicting row was live a statement ago
        raise RuntimeError("an idempotency key was neither taken nor held")
    return holder


def delete_expired(connection: Connection, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` rows older than ``before_ms``, oldest first; how many went."""
    return connection.execute(_DELETE_EXPIRED, {"before_ms": before_ms, "limit": limit}).rowcount


_ANY_EXPIRED = text("SELECT 1 FROM idempotency_keys WHERE created_at_ms < :before_ms LIMIT 1")


def any_expired(connection: Connection, before_ms: int) -> bool:
    """Whether delete_expired would delete anything (a read: an idle sweep writes nothing)."""
    return connection.execute(_ANY_EXPIRED, {"before_ms": before_ms}).first() is not None
