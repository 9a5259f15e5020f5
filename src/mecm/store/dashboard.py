"""The console dashboard's counts: SQL only (services/admin/dashboard.py shapes them).

Each reads one workspace's rows from a time on, found by id (ids begin with their time,
domain/ids.py), so a count over the last hour reads the last hour's rows, not the table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, case, func, select

from mecm.domain.ids import first_id_at
from mecm.store.tables import messages, mo_messages

# Ids carry their node's clock: a row made by a node whose clock ran behind falls this much later.
_SLACK_MS = 60_000


def messages_by_minute(connection: Connection, workspace_id: int, since_ms: int) -> list[tuple[int, str, int]]:
    """(minute, status, count) of the workspace's messages accepted since ``since_ms``; a minute is
    epoch milliseconds // 60,000."""
    minute = messages.c.created_at_ms // 60_000
    query = (select(minute, messages.c.status, func.count())
             .where(messages.c.workspace_id == workspace_id, messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                    messages.c.created_at_ms >= since_ms)
             .group_by(minute, messages.c.status))
    return [(int(m), s, n) for m, s, n in connection.execute(query)]


def mos_by_minute(connection: Connection, workspace_id: int, since_ms: int) -> list[tuple[int, int]]:
    minute = mo_messages.c.received_at_ms // 60_000
    query = (select(minute, func.count())
             .where(mo_messages.c.workspace_id == workspace_id,
                    mo_messages.c.id >= first_id_at(since_ms - _SLACK_MS), mo_messages.c.received_at_ms >= since_ms)
             .group_by(minute))
    return [(int(m), n) for m, n in connection.execute(query)]


def by_status(connection: Connection, workspace_id: int, since_ms: int) -> dict[str, int]:
    query = (select(messages.c.status, func.count())
             .where(messages.c.workspace_id == workspace_id, messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                    messages.c.created_at_ms >= since_ms)
             .group_by(messages.c.status))
    return {status: count for status, count in connection.execute(query)}


def mo_count(connection: Connection, workspace_id: int, since_ms: int) -> int:
    query = select(func.count()).where(mo_messages.c.workspace_id == workspace_id,
                                       mo_messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                                       mo_messages.c.received_at_ms >= since_ms)
    return connection.execute(query).scalar_one()


def by_carrier(connection: Connection, workspace_id: int, since_ms: int, delivered: str) -> list[dict[str, Any]]:
    """Per carrier: messages accepted since ``since_ms``, how many are ``delivered``, and the mean
    time from acceptance to that receipt (ms)."""
    is_delivered = messages.c.status == delivered
    query = (select(messages.c.carrier, func.count(), func.sum(case((is_delivered, 1), else_=0)),
                    func.avg(case((is_delivered, messages.c.updated_at_ms - messages.c.created_at_ms), else_=None)))
             .where(messages.c.workspace_id == workspace_id, messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                    messages.c.created_at_ms >= since_ms)
             .group_by(messages.c.carrier).order_by(func.count().desc()))
    return [{"carrier": carrier or "", "messages": total, "delivered": int(done or 0),
             "receipt_ms": None if mean is None else float(mean)}
            for carrier, total, done, mean in connection.execute(query)]


def busiest_campaigns(connection: Connection, workspace_id: int, since_ms: int, limit: int) -> list[tuple[str, int]]:
    query = (select(mo_messages.c.campaign_name, func.count())
             .where(mo_messages.c.workspace_id == workspace_id,
                    mo_messages.c.id >= first_id_at(since_ms - _SLACK_MS), mo_messages.c.received_at_ms >= since_ms,
                    mo_messages.c.campaign_name != "")
             .group_by(mo_messages.c.campaign_name).order_by(func.count().desc()).limit(limit))
    return [(name, count) for name, count in connection.execute(query)]
