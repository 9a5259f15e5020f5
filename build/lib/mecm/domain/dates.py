"""Dates as the API writes them (SPEC section 4): ``2013-09-17T10:13:59.176-04:30``.

That is Java's ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` in the workspace's IANA zone. Offsets come from
the zone database at that instant, so history is right (Caracas was -04:30 from 2007 to 2016).
Every response carries dates, so this avoids strftime, caches the ZoneInfo per name, and keeps, per
zone, the text of the last minute written: within one minute (offsets change on whole minutes) only
the seconds and milliseconds differ, so most calls are one dictionary lookup and one format.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


_ISO_LENGTH = len("2013-09-17T10:13:59.176-04:30")


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_valid_timezone(name: str) -> bool:
    """True when `name` is an IANA zone this system's tz database knows ("America/Caracas")."""
    if not name or not isinstance(name, str):
        return False
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


_last_minute: dict[str, tuple[int, str, str]] = {}  # zone -> (epoch minute, "yyyy-MM-ddTHH:mm:", offset)


def format_date(epoch_ms: int, tz_name: str) -> str:
    """Milliseconds since the epoch, written in zone `tz_name` with millisecond precision."""
    minute, within = divmod(epoch_ms, 60_000)
    cached = _last_minute.get(tz_name)
    if cached is not None and cached[0] == minute:
        seconds, millis = divmod(within, 1000)
        return f"{cached[1]}{seconds:02d}.{millis:03d}{cached[2]}"
    text = _format_date(epoch_ms, tz_name)
    # Only whole-minute offsets, whose seconds field is the UTC one, may be reused for the minute.
    if len(text) == _ISO_LENGTH and text[17:19] == f"{within // 1000:02d}":
        _last_minute[tz_name] = (minute, text[:17], text[23:])
    return text


def _format_date(epoch_ms: int, tz_name: str) -> str:
    """Milliseconds since the epoch, written in zone `tz_name` with millisecond precision.

    An unknown zone raises ZoneInfoNotFoundError; zones are validated when configured.
    datetime.isoformat (C code) gives exactly the wanted form, except for an offset with
    seconds (local mean time before ~1900), which is then truncated to minutes by hand.
    """
    seconds, millis = divmod(epoch_ms, 1000)
    dt = datetime.fromtimestamp(seconds, _zone(tz_name)).replace(microsecond=millis * 1000)
    text = dt.isoformat(timespec="milliseconds")
    if len(text) == _ISO_LENGTH:
        return text
    offset = int(dt.utcoffset().total_seconds())  # type: ignore[union-attr]
    sign = "-" if offset < 0 else "+"
    off_h, off_m = divmod(abs(offset) // 60, 60)
    return f"{text[:23]}{sign}{off_h:02d}:{off_m:02d}"
