"""The outbox of webhooks, status callbacks and e-mails: list jobs, replay dead ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from mecm.errors import InvalidParameter
from mecm.services.key_use import wall_clock_ms
from mecm.store import outbox as store_outbox

STATES = ("pending", "done", "dead")


def list_jobs(connection: Connection, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` jobs (in ``state`` only, when given)."""
    if state is not None and state not in STATES:
        raise InvalidParameter("state", f"must be one of {', '.join(STATES)}")
    return store_outbox.list_jobs(connection, state, limit)


def replay(connection: Connection, job_ids: Sequence[int] | None = None, *, every_dead: bool = False) -> int:
    """Dead jobs (those named, or all) back to pending with their attempts counted afresh; how many."""
    if bool(job_ids) == every_dead:
        raise InvalidParameter("id", "give --id N (repeatable) or --all")
    return store_outbox.replay(connection, None if every_dead else job_ids, wall_clock_ms())
