"""When a key pair stops working: expiry instants and the durations that set them.

Pure functions over epoch milliseconds. A key with an expiry answers BAD_SIGNATURE from that instant
on, exactly as a revoked key does (SPEC section 2); ``key rotate`` sets the old key's expiry to the
end of the overlap. The store and the CLI parse what people type here, so every refusal names the
option it came from.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

from mecm.errors import InvalidParameter

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^([0-9]{1,7})([smhd])$")
MAX_DURATION_MS = 3650 * 86_400_000  # ten years: longer is a typing mistake, not a plan
_LAST_INSTANT_MS = 253_370_764_800_000  # 9999-01-01T00:00Z: a listing writes it in any time zone


def is_expired(expires_at_ms: int | None, now_ms: int) -> bool:
    """A key expires *at* its instant: from then on it answers BAD_SIGNATURE."""
    return expires_at_ms is not None and now_ms >= expires_at_ms


def parse_duration(raw: str, name: str, *, allow_zero: bool = False) -> int:
    """``90d``, ``24h``, ``30m``, ``2s`` (and ``0`` where ``allow_zero``) as milliseconds."""
    text = raw.strip().lower()
    if allow_zero and text in ("0", "0s", "0m", "0h", "0d"):
        return 0
    match = _DURATION.match(text)
    if match is None:
        zero = ", or 0" if allow_zero else ""
        raise InvalidParameter(name, f"{raw!r} is not a duration: a whole number and s, m, h or d "
                                     f"(e.g. 24h, 90d){zero}")
    amount = int(match.group(1)) * _UNITS_MS[match.group(2)]
    if amount == 0 and not allow_zero:
        raise InvalidParameter(name, "must be more than 0")
    if amount > MAX_DURATION_MS:
        raise InvalidParameter(name, "must be at most 3650d (ten years)")
    return amount


def parse_instant(raw: str, name: str, zone: tzinfo) -> int:
    """An ISO 8601 date (``2027-01-31``: 00:00 that day) or date and time, as epoch milliseconds.
    Without an offset it is read in ``zone`` (the key's workspace's time zone)."""
    text = raw.strip()
    try:
        when = (datetime.combine(date.fromisoformat(text), time()) if len(text) == 10
                else datetime.fromisoformat(text))
    except ValueError:
        raise InvalidParameter(name, f"{raw!r} is not an ISO 8601 date or date and time, "
                                     "e.g. 2027-01-31 or 2027-01-31T18:00+00:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    instant = int(when.timestamp() * 1000)
    if not 0 <= instant <= _LAST_INSTANT_MS:
        raise InvalidParameter(name, f"{raw!r} is out of range")
    return instant


def expiry_from(*, expires: str | None, expires_in: str | None, now_ms: int, zone: tzinfo,
                future_only: bool) -> int | None:
    """The expiry that ``--expires`` or ``--expires-in`` give (None: neither, no expiry).

    ``future_only``: an instant already past is refused (creating a key that never works is a
    mistake; ``set-expiry`` allows it, as a suspension that a later ``set-expiry`` can lift)."""
    if expires is not None and expires_in is not None:
        raise InvalidParameter("expires", "cannot be given with expires-in (give one)")
    if expires_in is not None:
        return now_ms + parse_duration(expires_in, "expires-in")
    if expires is None:
        return None
    instant = parse_instant(expires, "expires", zone)
    if future_only and instant <= now_ms:
        raise InvalidParameter("expires", f"{expires!r} is already past")
    return instant


def end_of_overlap(current_expiry_ms: int | None, overlap_ms: int, now_ms: int) -> int:
    """The old key's expiry after a rotation: the overlap's end, or its own expiry if that comes
    sooner (a rotation never lengthens a key's life)."""
    end = now_ms + overlap_ms
    return end if current_expiry_ms is None else min(current_expiry_ms, end)
