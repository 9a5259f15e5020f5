"""Quiet hours: a campaign's replies are held while it is night for its subscribers.

Written "22:00-08:00" in the workspace's time zone. A reply to an MO that comes in quiet hours is
stored at once (PENDING) with its first attempt at the end of them, the way a send with an ``at``
flag is; the MO is answered in the morning rather than not at all. A window may cross midnight
("22:00-08:00") or not ("12:00-14:00"); start equal to end is refused (always or never quiet?).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from mecm.errors import InvalidParameter

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")  # ASCII digits


def parse_quiet_hours(raw: str, name: str = "quiet-hours") -> str:
    """``raw`` checked and returned as "HH:MM-HH:MM", or InvalidParameter(name, ...)."""
    text = raw.strip()
    found = _WINDOW.match(text)
    if found is None:
        raise InvalidParameter(name, "must be HH:MM-HH:MM, e.g. 22:00-08:00")
    if found.group(1, 2) == found.group(3, 4):
        raise InvalidParameter(name, "start and end are the same time")
    return text


def _bounds(window: str) -> tuple[time, time]:
    start, end = window.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def release_at(now_ms: int, timezone: str, window: str | None) -> int:
    """When a reply asked for at ``now_ms`` may go: ``now_ms`` itself outside quiet hours, else the
    end of the quiet hours it falls in (epoch milliseconds)."""
    if not window:
        return now_ms
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now_ms / 1000, zone)
    start, end = _bounds(window)
    clock = local.time()
    if start < end:
        quiet = start <= clock < end
        end_day = local.date()
    else:  # across midnight
        quiet = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not quiet:
        return now_ms
    opens = datetime.combine(end_day, end, zone)
    return max(now_ms, int(opens.timestamp() * 1000))
