"""The console dashboard's counts: SQL only (services/admin/dashboard.py shapes them and decides which
hours to keep).

Counted from the rows, each read reads one workspace's rows of a span of time, found by id (ids begin
with their time, domain/ids.py), so a count over the last hour reads the last hour's rows, not the
table. The counts of closed hours are kept (tables dashboard_hours, dashboard_message_counts,
dashboard_mo_counts, migration 0024), so that the day's and week's figures add up a few hundred kept
rows instead of counting a week's messages again.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, delete, func, select, text

from mecm.domain.ids import first_id_at, id_to_epoch_ms
from mecm.store.tables import (
    dashboard_hours,
    dashboard_message_counts,
    dashboard_mo_counts,
    messages,
    mo_messages,
    workspaces,
)

# Ids carry their node's clock: a row made by a node whose clock ran behind falls this much later.
_SLACK_MS = 60_000


class MessageCount(NamedTuple):
    start_ms: int  # the start of the hour (or minute) the messages were accepted in
    carrier: str
    status: str
    messages: int
    receipt_ms: int  # the sum, over these messages, of updated_at_ms - created_at_ms


class MoCount(NamedTuple):
    start_ms: int  # the start of the hour (or minute) they were received in
    campaign_name: str  # "" for the MOs no campaign answered
    mos: int


class KeptHour(NamedTuple):
    hour_ms: int
    counted_at_ms: int
    open_messages: int  # how many of its messages were not final when it was counted


# -- counted from the rows ---------------------------------------------------------------------------

def count_messages(connection: Connection, workspace_id: int, since_ms: int, until_ms: int,
                   step_ms: int) -> list[MessageCount]:
    """The workspace's messages accepted in [since_ms, until_ms), by ``step_ms`` (an hour or a minute:
    epoch ms // step_ms), carrier and status."""
    start = messages.c.created_at_ms // step_ms * step_ms
    query = (select(start, messages.c.carrier, messages.c.status, func.count(),
                    func.sum(messages.c.updated_at_ms - messages.c.created_at_ms))
             .where(messages.c.workspace_id == workspace_id,
                    messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                    messages.c.id < first_id_at(until_ms + _SLACK_MS),
                    messages.c.created_at_ms >= since_ms, messages.c.created_at_ms < until_ms)
             .group_by(start, messages.c.carrier, messages.c.status))
    return [MessageCount(int(at), carrier, status, n, int(receipt)) for at, carrier, status, n, receipt
            in connection.execute(query)]


def count_mos(connection: Connection, workspace_id: int, since_ms: int, until_ms: int, step_ms: int) -> list[MoCount]:
    """The workspace's MOs received in [since_ms, until_ms), by ``step_ms`` and campaign."""
    start = mo_messages.c.received_at_ms // step_ms * step_ms
    query = (select(start, mo_messages.c.campaign_name, func.count())
             .where(mo_messages.c.workspace_id == workspace_id,
                    mo_messages.c.id >= first_id_at(since_ms - _SLACK_MS),
                    mo_messages.c.id < first_id_at(until_ms + _SLACK_MS),
                    mo_messages.c.received_at_ms >= since_ms, mo_messages.c.received_at_ms < until_ms)
             .group_by(start, mo_messages.c.campaign_name))
    return [MoCount(int(at), campaign, n) for at, campaign, n in connection.execute(query)]


# -- kept ----------------------------------------------------------------------------------------------

def kept_hours(connection: Connection, workspace_id: int, since_ms: int) -> list[KeptHour]:
    """The workspace's kept hours that start at ``since_ms`` or later, oldest first."""
    query = (select(dashboard_hours.c.hour_ms, dashboard_hours.c.counted_at_ms, dashboard_hours.c.open_messages)
             .where(dashboard_hours.c.workspace_id == workspace_id, dashboard_hours.c.hour_ms >= since_ms)
             .order_by(dashboard_hours.c.hour_ms))
    return [KeptHour(*row) for row in connection.execute(query)]


def kept_messages(connection: Connection, workspace_id: int, since_ms: int) -> list[MessageCount]:
    """The kept counts of the workspace's messages, of the hours that start at ``since_ms`` or later."""
    c = dashboard_message_counts.c
    query = (select(c.hour_ms, c.carrier, c.status, c.messages, c.receipt_ms)
             .where(c.workspace_id == workspace_id, c.hour_ms >= since_ms))
    return [MessageCount(*row) for row in connection.execute(query)]


def kept_mos(connection: Connection, workspace_id: int, since_ms: int) -> list[MoCount]:
    """The kept counts of the workspace's MOs, of the hours that start at ``since_ms`` or later."""
    c = dashboard_mo_counts.c
    query = select(c.hour_ms, c.campaign_name, c.mos).where(c.workspace_id == workspace_id, c.hour_ms >= since_ms)
    return [MoCount(*row) for row in connection.execute(query)]


# An hour's bookkeeping row is written first: on PostgreSQL a second process keeping the same hour
# at once waits here for the first to commit, then replaces its counts whole (no mix of the two).
_KEEP_HOUR = text(
    """
    INSERT INTO dashboard_hours (workspace_id, hour_ms, counted_at_ms, open_messages)
    VALUES (:workspace_id, :hour_ms, :counted_at_ms, :open_messages)
    ON CONFLICT (workspace_id, hour_ms) DO UPDATE
       SET counted_at_ms = excluded.counted_at_ms, open_messages = excluded.open_messages
    """
)


def keep_hours(connection: Connection, workspace_id: int, hours: list[KeptHour], message_counts: list[MessageCount],
               mo_counts: list[MoCount], forget_before_ms: int) -> None:
    """Keep ``hours``' counts (``message_counts`` and ``mo_counts`` by hour) in place of what was kept
    for them; forget the workspace's hours that start before ``forget_before_ms`` (no window reaches
    them any more)."""
    hour_list = sorted(h.hour_ms for h in hours)  # the same lock order in every process
    by_hour = {h.hour_ms: h for h in hours}
    connection.execute(_KEEP_HOUR, [{"workspace_id": workspace_id, **by_hour[h]._asdict()} for h in hour_list])
    for table in (dashboard_message_counts, dashboard_mo_counts):
        connection.execute(delete(table).where(table.c.workspace_id == workspace_id,
                                               table.c.hour_ms.in_(hour_list)))
    if message_counts:
        connection.execute(dashboard_message_counts.insert(), [
            {"workspace_id": workspace_id, "hour_ms": row.start_ms, "carrier": row.carrier, "status": row.status,
             "messages": row.messages, "receipt_ms": row.receipt_ms} for row in message_counts])
    if mo_counts:
        connection.execute(dashboard_mo_counts.insert(), [
            {"workspace_id": workspace_id, "hour_ms": row.start_ms, "campaign_name": row.campaign_name,
             "mos": row.mos} for row in mo_counts])
    for table in (dashboard_hours, dashboard_message_counts, dashboard_mo_counts):
        connection.execute(delete(table).where(table.c.workspace_id == workspace_id,
                                               table.c.hour_ms < forget_before_ms))


def newest_traffic_ms(connection: Connection) -> int | None:
    """When the newest message or MO of the deployment was made (by its id); None: there are none."""
    newest = [connection.execute(select(func.max(table.c.id))).scalar() for table in (messages, mo_messages)]
    ids = [i for i in newest if i is not None]
    return id_to_epoch_ms(max(ids)) if ids else None


def workspace_ids(connection: Connection) -> list[int]:
    return list(connection.execute(select(workspaces.c.id).order_by(workspaces.c.id)).scalars())
