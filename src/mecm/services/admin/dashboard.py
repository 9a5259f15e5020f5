"""The console's dashboard of a workspace: what it sent and received, minute by minute over the last
hour, in totals over the last hour, day and week, by carrier, and its busiest campaigns. Read only.

A message is counted in the minute it was accepted, by what has become of it since: delivered (a
receipt said so), failed (final without delivery: undelivered, expired, refused ...), or on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.domain.status import FINAL, Status
from mecm.services.admin.lookups import require_workspace
from mecm.store import dashboard as store_dashboard

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
_DELIVERED = Status.DELIVERED_TO_DEVICE.value
_FAILED = frozenset(s.value for s in FINAL) - {_DELIVERED}
SERIES = ("accepted", "delivered", "failed", "mos")


@dataclass(frozen=True)
class Longer:
    """The figures over the day and the week: minutes old, they change slowly (the console keeps
    them for a minute rather than count a week's rows at every refresh)."""

    totals: dict[str, dict[str, int]]  # "day" | "week" -> SERIES -> count
    carriers: list[dict[str, Any]]  # the last day, per carrier
    campaigns: list[tuple[str, int]]  # the last day's busiest, by MOs answered


@dataclass(frozen=True)
class Dashboard:
    minutes: list[int]  # the last hour's minutes (epoch ms of each minute's start), oldest first
    series: dict[str, list[int]]  # SERIES -> a count per minute
    totals: dict[str, dict[str, int]]  # "hour" | "day" | "week" -> SERIES -> count
    carriers: list[dict[str, Any]]  # the last day, per carrier
    campaigns: list[tuple[str, int]]  # the last day's busiest, by MOs answered


def _split(counts: dict[str, int]) -> dict[str, int]:
    return {"accepted": sum(counts.values()), "delivered": counts.get(_DELIVERED, 0),
            "failed": sum(n for status, n in counts.items() if status in _FAILED)}


def longer(connection: Connection, workspace_id: int, now_ms: int) -> Longer:
    require_workspace(connection, workspace_id)
    totals = {}
    for name, span in (("day", DAY_MS), ("week", WEEK_MS)):
        totals[name] = {**_split(store_dashboard.by_status(connection, workspace_id, now_ms - span)),
                        "mos": store_dashboard.mo_count(connection, workspace_id, now_ms - span)}
    carriers = [{**row, "rate": row["delivered"] / row["messages"] if row["messages"] else 0.0}
                for row in store_dashboard.by_carrier(connection, workspace_id, now_ms - DAY_MS, _DELIVERED)]
    campaigns = store_dashboard.busiest_campaigns(connection, workspace_id, now_ms - DAY_MS, 5)
    return Longer(totals, carriers, campaigns)


def dashboard(connection: Connection, workspace_id: int, now_ms: int, longer_view: Longer | None = None) -> Dashboard:
    """The dashboard at ``now_ms``; ``longer_view``: the day's and week's figures if read already."""
    require_workspace(connection, workspace_id)
    first_minute = now_ms // MINUTE_MS - 59
    minutes = [(first_minute + i) * MINUTE_MS for i in range(60)]
    series = {name: [0] * 60 for name in SERIES}
    for minute, status, count in store_dashboard.messages_by_minute(connection, workspace_id, minutes[0]):
        i = minute - first_minute
        if 0 <= i < 60:
            series["accepted"][i] += count
            if status == _DELIVERED:
                series["delivered"][i] += count
            elif status in _FAILED:
                series["failed"][i] += count
    for minute, count in store_dashboard.mos_by_minute(connection, workspace_id, minutes[0]):
        if 0 <= minute - first_minute < 60:
            series["mos"][minute - first_minute] += count
    slow = longer_view if longer_view is not None else longer(connection, workspace_id, now_ms)
    totals = {"hour": {name: sum(values) for name, values in series.items()}, **slow.totals}
    return Dashboard(minutes, series, totals, slow.carriers, slow.campaigns)
