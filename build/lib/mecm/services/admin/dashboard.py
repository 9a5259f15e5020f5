"""The console's dashboard of a workspace: what it sent and received, minute by minute over the last
hour, in totals over the last hour, day and week, by carrier, and its busiest campaigns.

A message is counted in the minute it was accepted, by what has become of it since: delivered (a
receipt said so), failed (final without delivery: undelivered, expired, refused ...), or on its way.

Counting a week of a million messages and MOs takes seconds, so the counts of closed hours are
kept (store/dashboard.py): the day's and week's figures add up the kept hours, and count from the
rows only what no kept hour covers: the last hour or two, minute by minute (which also draws the
chart), and the part of an hour the day and the week start in. The rule for keeping an hour, and why:

- An hour is counted once it has been over for COUNTED_AFTER_MS (an hour): its rows are all written
  by then (a node whose clock runs behind stamps them late: ids allow a minute) and most receipts are in.
- Its messages change after that (a late receipt, an expiry at the end of the validity, a scheduled
  message sent at last). An hour counted while some of its messages were not final is counted again
  when its count is RECOUNT_AFTER_MS old (15 minutes), RECOUNTS_PER_VIEW such hours at a view, the
  least recently counted first, until all its messages are final; a final status never changes
  (domain/status.py), so from then on its counts stay right. While the dashboard is open (its live
  part asks every 10 s) a late receipt reaches the day's and week's figures within about a quarter
  of an hour; after a long time without a view, the views that follow catch up an hour each. Every
  hour of the validity (48 h by default) may hold a message still waiting for its receipt: 48 such
  hours counted again four times an hour are a count of an hour's rows at every other refresh (an
  hour of a million-a-week workspace: about 6,000 messages and 6,000 MOs). MOs do not change.
- The first view of a workspace whose week is not kept yet (a database just upgraded, a week
  without a view) counts the missing hours, once: seconds for a week of a million messages and MOs
  (docs/console.md).
- The send path writes none of this: the dashboard counts in a read (count_hours), shows what it
  counted (dashboard's ``counted``), and hands it, a few hundred rows, to the writer (keep_hours)
  once its answer has gone: no view waits on that commit. The figures are right whether or not the
  write happened: what is not kept is counted from the rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.domain.status import FINAL, Status
from mecm.services.admin.lookups import require_workspace
from mecm.store import dashboard as store_dashboard
from mecm.store.dashboard import KeptHour, MessageCount, MoCount

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
COUNTED_AFTER_MS = HOUR_MS  # an hour is kept once it has been over this long
RECOUNT_AFTER_MS = 15 * MINUTE_MS  # a kept hour with messages not yet final is counted again this often
RECOUNTS_PER_VIEW = 1  # at most this many of them at a view: a view's own time stays bounded
_DELIVERED = Status.DELIVERED_TO_DEVICE.value
_FAILED = frozenset(s.value for s in FINAL) - {_DELIVERED}
_OPEN = frozenset(s.value for s in Status) - {s.value for s in FINAL}
SERIES = ("accepted", "delivered", "failed", "mos")


@dataclass(frozen=True)
class Dashboard:
    minutes: list[int]  # the last hour's minutes (epoch ms of each minute's start), oldest first
    series: dict[str, list[int]]  # SERIES -> a count per minute
    totals: dict[str, dict[str, int]]  # "hour" | "day" | "week" -> SERIES -> count
    carriers: list[dict[str, Any]]  # the last day, per carrier
    campaigns: list[tuple[str, int]]  # the last day's busiest, by MOs answered


@dataclass(frozen=True)
class Counted:
    """Hours counted from the rows, for keep_hours to keep."""

    workspace_id: int
    hours: list[KeptHour]
    messages: list[MessageCount]
    mos: list[MoCount]
    forget_before_ms: int  # kept hours before this are out of every window


def _hour_of(ms: int) -> int:
    return ms // HOUR_MS * HOUR_MS


def _first_whole_hour(ms: int) -> int:
    return -(-ms // HOUR_MS) * HOUR_MS


def count_hours(connection: Connection, workspace_id: int, now_ms: int) -> Counted | None:
    """The week's closed hours not kept yet, and up to RECOUNTS_PER_VIEW kept hours whose messages
    were not all final RECOUNT_AFTER_MS ago or more, least recently counted first, counted from the
    rows; None: none to count."""
    require_workspace(connection, workspace_id)
    first = _first_whole_hour(now_ms - WEEK_MS)
    closed_before = _hour_of(now_ms - COUNTED_AFTER_MS)  # the hours before it ended COUNTED_AFTER_MS ago or more
    kept = store_dashboard.kept_hours(connection, workspace_id, first)
    kept_starts = {h.hour_ms for h in kept}
    missing = [h for h in range(first, closed_before, HOUR_MS) if h not in kept_starts]
    unsettled = sorted((h for h in kept if h.open_messages and h.counted_at_ms <= now_ms - RECOUNT_AFTER_MS),
                       key=lambda h: h.counted_at_ms)[:RECOUNTS_PER_VIEW]
    hours = sorted(missing + [h.hour_ms for h in unsettled])
    if not hours:
        return None
    message_counts: list[MessageCount] = []
    mo_counts: list[MoCount] = []
    for since, until in _runs(hours):  # a week not kept yet: one read of each table, not 168
        message_counts += store_dashboard.count_messages(connection, workspace_id, since, until, HOUR_MS)
        mo_counts += store_dashboard.count_mos(connection, workspace_id, since, until, HOUR_MS)
    still_open = Counter[int]()
    for row in message_counts:
        if row.status in _OPEN:
            still_open[row.start_ms] += row.messages
    return Counted(workspace_id, [KeptHour(h, now_ms, still_open[h]) for h in hours], message_counts, mo_counts,
                   first)


def keep_hours(connection: Connection, counted: Counted) -> None:
    store_dashboard.keep_hours(connection, counted.workspace_id, counted.hours, counted.messages, counted.mos,
                               counted.forget_before_ms)


def _runs(hours: list[int]) -> list[tuple[int, int]]:
    """Sorted hours as spans [since, until) of consecutive hours."""
    runs: list[tuple[int, int]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + HOUR_MS)
        else:
            runs.append((hour, hour + HOUR_MS))
    return runs


def _uncovered(since_ms: int, until_ms: int, kept: list[int]) -> list[tuple[int, int]]:
    """The spans of [since_ms, until_ms) that none of ``kept`` (sorted hours within it) covers."""
    spans, start = [], since_ms
    for hour in kept:
        if hour > start:
            spans.append((start, hour))
        start = hour + HOUR_MS
    if until_ms > start:
        spans.append((start, until_ms))
    return spans


class _Window:
    """A workspace's counts from a time to now: the kept hours within it, the hours not kept counted
    from the rows (a span two windows share, once), and the recent hours, counted already by minute."""

    def __init__(self, connection: Connection, workspace_id: int, kept: tuple[list[MessageCount], list[MoCount]],
                 kept_hours: list[int], recent_since_ms: int, recent: tuple[list[MessageCount], list[MoCount]]) -> None:
        self._connection, self._workspace_id = connection, workspace_id
        self._kept, self._kept_hours = kept, kept_hours
        self._recent_since_ms, self._recent = recent_since_ms, recent
        self._counted: dict[tuple[int, int], tuple[list[MessageCount], list[MoCount]]] = {}

    def since(self, since_ms: int) -> tuple[list[MessageCount], list[MoCount]]:
        inside = [h for h in self._kept_hours if h >= since_ms and h + HOUR_MS <= self._recent_since_ms]
        inside_set = set(inside)
        message_counts = [r for r in self._kept[0] if r.start_ms in inside_set]
        mo_counts = [r for r in self._kept[1] if r.start_ms in inside_set]
        for span in _uncovered(since_ms, self._recent_since_ms, inside):
            if span not in self._counted:
                self._counted[span] = (
                    store_dashboard.count_messages(self._connection, self._workspace_id, *span, HOUR_MS),
                    store_dashboard.count_mos(self._connection, self._workspace_id, *span, HOUR_MS))
            message_counts += self._counted[span][0]
            mo_counts += self._counted[span][1]
        return message_counts + self._recent[0], mo_counts + self._recent[1]


def _totals(message_counts: list[MessageCount], mo_counts: list[MoCount]) -> dict[str, int]:
    return {"accepted": sum(c.messages for c in message_counts),
            "delivered": sum(c.messages for c in message_counts if c.status == _DELIVERED),
            "failed": sum(c.messages for c in message_counts if c.status in _FAILED),
            "mos": sum(c.mos for c in mo_counts)}


def _carriers(message_counts: list[MessageCount]) -> list[dict[str, Any]]:
    """Per carrier, busiest first: messages, how many delivered, the rate, and the mean time from
    acceptance to the delivery receipt (ms; None without one)."""
    sent, delivered, receipt_ms = Counter[str](), Counter[str](), Counter[str]()
    for c in message_counts:
        sent[c.carrier] += c.messages
        if c.status == _DELIVERED:
            delivered[c.carrier] += c.messages
            receipt_ms[c.carrier] += c.receipt_ms
    return [{"carrier": carrier, "messages": n, "delivered": delivered[carrier], "rate": delivered[carrier] / n,
             "receipt_ms": receipt_ms[carrier] / delivered[carrier] if delivered[carrier] else None}
            for carrier, n in sorted(sent.items(), key=lambda item: (-item[1], item[0])) if n]


def _busiest(mo_counts: list[MoCount], limit: int) -> list[tuple[str, int]]:
    answered = Counter[str]()
    for c in mo_counts:
        if c.campaign_name:
            answered[c.campaign_name] += c.mos
    return sorted(answered.items(), key=lambda item: (-item[1], item[0]))[:limit]


def dashboard(connection: Connection, workspace_id: int, now_ms: int, counted: Counted | None = None) -> Dashboard:
    """The dashboard at ``now_ms``, from what is kept, ``counted`` (count_hours' answer, not kept yet:
    it takes the place of what is kept for its hours) and the rows (what is neither: without any,
    the week's rows are counted)."""
    require_workspace(connection, workspace_id)
    first_minute = now_ms // MINUTE_MS * MINUTE_MS - 59 * MINUTE_MS
    minutes = [first_minute + i * MINUTE_MS for i in range(60)]
    first_hour = _first_whole_hour(now_ms - WEEK_MS)
    kept_hours = [h.hour_ms for h in store_dashboard.kept_hours(connection, workspace_id, first_hour)]
    # Read after the hours: an hour another view keeps meanwhile is left out here, and counted from the rows.
    fresh = {h.hour_ms for h in counted.hours} if counted is not None else set()
    kept_set = set(kept_hours) - fresh
    kept = ([r for r in store_dashboard.kept_messages(connection, workspace_id, first_hour) if r.start_ms in kept_set],
            [r for r in store_dashboard.kept_mos(connection, workspace_id, first_hour) if r.start_ms in kept_set])
    if counted is not None:
        kept = (kept[0] + counted.messages, kept[1] + counted.mos)
        kept_hours = sorted(kept_set | fresh)
    # The hours not closed for long enough to be kept (the last one or two), counted by minute: the
    # chart's hour is among them.
    recent_since = _hour_of(now_ms - COUNTED_AFTER_MS)
    recent = (store_dashboard.count_messages(connection, workspace_id, recent_since, now_ms, MINUTE_MS),
              store_dashboard.count_mos(connection, workspace_id, recent_since, now_ms, MINUTE_MS))
    series = {name: [0] * 60 for name in SERIES}
    for row in recent[0]:
        i = (row.start_ms - first_minute) // MINUTE_MS
        if 0 <= i < 60:
            series["accepted"][i] += row.messages
            if row.status == _DELIVERED:
                series["delivered"][i] += row.messages
            elif row.status in _FAILED:
                series["failed"][i] += row.messages
    for row in recent[1]:
        i = (row.start_ms - first_minute) // MINUTE_MS
        if 0 <= i < 60:
            series["mos"][i] += row.mos
    window = _Window(connection, workspace_id, kept, kept_hours, recent_since, recent)
    day, week = window.since(now_ms - DAY_MS), window.since(now_ms - WEEK_MS)
    totals = {"hour": {name: sum(values) for name, values in series.items()}, "day": _totals(*day),
              "week": _totals(*week)}
    return Dashboard(minutes, series, totals, _carriers(day[0]), _busiest(day[1], 5))
