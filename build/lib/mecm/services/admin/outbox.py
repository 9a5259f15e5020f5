"""The outbox of webhooks, status callbacks and e-mails: list jobs; replay or discard dead ones (the
dead letters), each change in the audit log.

Who may replay or discard: the role that may edit campaigns (editor; domain/roles.py Action.WEBHOOKS),
as campaigns own the webhooks. A replay or discard of ids names only dead jobs of the workspace: an id
that is not one refuses the whole request (nothing changed), so a typing mistake touches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from mecm.domain.dates import format_date
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import audit
from mecm.services.admin.lookups import require_workspace
from mecm.services.key_use import wall_clock_ms
from mecm.store import outbox as store_outbox
from mecm.store.time_zones import workspace_time_zones

STATES = ("pending", "done", "dead")
MAX_IDS = 1000  # ids named in one request
_CHUNK = 500  # ids per statement (SQLite binds at most a few thousand parameters)


def list_jobs(connection: Connection, state: str | None = None, limit: int = 100, *,
              workspace_id: int | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` jobs (in ``state`` only, of ``workspace_id`` only, when given), with the
    attempts made and the last error; times as ISO 8601 in each job's workspace's zone too."""
    if state is not None and state not in STATES:
        raise InvalidParameter("state", f"must be one of {', '.join(STATES)}")
    if not 1 <= limit <= 10_000:
        raise InvalidParameter("limit", "must be between 1 and 10000")
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    rows = store_outbox.list_jobs(connection, state, limit, workspace_id)
    zones = workspace_time_zones(connection)
    for row in rows:
        zone = zones.get(row["workspace_id"], "UTC")
        row["created_at"] = format_date(row["created_at_ms"], zone)
        row["finished_at"] = format_date(row["finished_at_ms"], zone) if row["finished_at_ms"] is not None else None
    return rows


def replay(connection: Connection, job_ids: Sequence[int] | None = None, *, every_dead: bool = False,
           workspace_id: int | None = None, actor: str, ids_param: str = "id") -> int:
    """Dead jobs (those named, or all; of ``workspace_id`` when given) back to pending with their
    attempts counted afresh: the worker delivers them again. How many. ``ids_param``: how the caller
    names the ids (the CLI's --id, the API's ids), for a refusal."""
    now = wall_clock_ms()
    return _change(connection, job_ids, every_dead, workspace_id, actor, ids_param, "webhook.replay", "replayed",
                   lambda ids: store_outbox.replay(connection, ids, now))


def discard(connection: Connection, job_ids: Sequence[int] | None = None, *, every_dead: bool = False,
            workspace_id: int | None = None, actor: str, ids_param: str = "id") -> int:
    """Dead jobs (those named, or all; of ``workspace_id`` when given) deleted: never tried again. How many."""
    return _change(connection, job_ids, every_dead, workspace_id, actor, ids_param, "webhook.discard", "discarded",
                   lambda ids: store_outbox.discard(connection, ids))


def _change(connection: Connection, job_ids: Sequence[int] | None, every_dead: bool, workspace_id: int | None,
            actor: str, ids_param: str, action: str, done: str, apply: Callable[[list[int]], int]) -> int:
    named = list(dict.fromkeys(job_ids or ()))
    if bool(named) == every_dead:
        raise InvalidParameter(ids_param, "give the ids of dead jobs, or all of them (all), not both")
    if len(named) > MAX_IDS:
        raise InvalidParameter(ids_param, f"at most {MAX_IDS} ids at once (or all of them)")
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    rows = store_outbox.dead_jobs(connection, workspace_id, None if every_dead else named)
    missing = sorted(set(named) - {row.id for row in rows})
    if missing:
        where = f" in workspace {workspace_id}" if workspace_id is not None else ""
        raise Unknown(ids_param, "dead job", f"{missing[0]}{where}")
    by_workspace: dict[int, list[int]] = {}
    for row in rows:
        by_workspace.setdefault(row.workspace_id, []).append(row.id)
    count = 0
    for ids in by_workspace.values():
        for start in range(0, len(ids), _CHUNK):
            count += apply(ids[start:start + _CHUNK])
    # One entry per workspace touched, so each workspace's audit log shows what was done to its jobs.
    for workspace, ids in by_workspace.items():
        audit.record(connection, actor, action, f"webhooks:workspace:{workspace}", workspace_id=workspace,
                     before={"dead": ids}, after={done: ids})
    return count
