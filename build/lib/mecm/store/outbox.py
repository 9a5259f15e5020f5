"""The outbox's statements: webhooks and e-mails waiting, in hand, done or dead.

A job is claimed by pushing its ``next_attempt_at_ms`` past the time its attempt can take (a
lease): a worker that dies with it in hand leaves it due again when the lease ends, and it is tried
again. Each claim counts an attempt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, text, update

from mecm.store.tables import outbox

_CLAIM = """
    UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = :lease_until
     WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at_ms <= :now
                     AND target NOT IN ({busy_targets})
                   ORDER BY next_attempt_at_ms, id LIMIT :limit {skip_locked})
    RETURNING id, workspace_id, kind, target, payload, reply_code, reply_to, mo_id, attempts
    """
# PostgreSQL: workers claim side by side; each skips the jobs another has locked in its claim.
_CLAIM_BY_DIALECT = {
    "sqlite": text(_CLAIM.format(busy_targets="SELECT value FROM json_each(:busy)", skip_locked="")),
    "postgresql": text(_CLAIM.format(busy_targets="SELECT json_array_elements_text(CAST(:busy AS json))",
                                     skip_locked="FOR UPDATE SKIP LOCKED")),
}
_ANY_DUE = text("SELECT 1 FROM outbox WHERE state = 'pending' AND next_attempt_at_ms <= :now LIMIT 1")


def any_due(connection: Connection, now_ms: int) -> bool:
    return connection.execute(_ANY_DUE, {"now": now_ms}).first() is not None


def claim_due(connection: Connection, now_ms: int, lease_until_ms: int, limit: int,
              busy: set[str] | frozenset[str] = frozenset()) -> list[Any]:
    """Due jobs, but none to a target in ``busy`` (its earlier jobs are in hand: order is kept)."""
    params = {"now": now_ms, "lease_until": lease_until_ms, "limit": limit, "busy": json.dumps(sorted(busy))}
    return list(connection.execute(_CLAIM_BY_DIALECT[connection.dialect.name], params))


def mark_done(connection: Connection, job_id: int, now_ms: int) -> None:
    connection.execute(update(outbox).where(outbox.c.id == job_id)
                       .values(state="done", finished_at_ms=now_ms, last_error=None))


def retry_later(connection: Connection, job_id: int, error: str, at_ms: int) -> None:
    connection.execute(update(outbox).where(outbox.c.id == job_id)
                       .values(next_attempt_at_ms=at_ms, last_error=error[:1000]))


def mark_dead(connection: Connection, job_id: int, error: str, now_ms: int) -> None:
    connection.execute(update(outbox).where(outbox.c.id == job_id)
                       .values(state="dead", finished_at_ms=now_ms, last_error=error[:1000]))


def replay(connection: Connection, job_ids: Sequence[int] | None, now_ms: int) -> int:
    """Dead jobs (these, or all when None) become pending again, with a fresh count of attempts."""
    statement = update(outbox).where(outbox.c.state == "dead")
    if job_ids is not None:
        statement = statement.where(outbox.c.id.in_(job_ids))
    return connection.execute(statement.values(state="pending", attempts=0, next_attempt_at_ms=now_ms,
                                               finished_at_ms=None)).rowcount


def list_jobs(connection: Connection, state: str | None = None, limit: int = 100,
              workspace_id: int | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` jobs (of one state, of one workspace, when given)."""
    query = select(outbox.c.id, outbox.c.workspace_id, outbox.c.kind, outbox.c.target, outbox.c.state,
                   outbox.c.attempts, outbox.c.last_error, outbox.c.mo_id, outbox.c.created_at_ms,
                   outbox.c.finished_at_ms).order_by(outbox.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(outbox.c.state == state)
    if workspace_id is not None:
        query = query.where(outbox.c.workspace_id == workspace_id)
    return [dict(row) for row in connection.execute(query).mappings()]


def dead_jobs(connection: Connection, workspace_id: int | None, job_ids: Sequence[int] | None) -> list[Any]:
    """The dead jobs (of one workspace, when given; these ids only, when given), in id order, locked
    on PostgreSQL so that the replay or discard that follows acts on exactly these."""
    query = select(outbox.c.id, outbox.c.workspace_id).where(outbox.c.state == "dead").order_by(outbox.c.id)
    if workspace_id is not None:
        query = query.where(outbox.c.workspace_id == workspace_id)
    if job_ids is not None:
        query = query.where(outbox.c.id.in_(job_ids))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return list(connection.execute(query))


def discard(connection: Connection, job_ids: Sequence[int]) -> int:
    """Dead jobs deleted: they will never be tried again."""
    return connection.execute(delete(outbox).where(outbox.c.state == "dead", outbox.c.id.in_(job_ids))).rowcount
