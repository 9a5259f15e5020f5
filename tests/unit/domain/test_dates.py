from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.dates import format_date, is_valid_timezone

SPEC_MS = int(datetime(2013, 9, 17, 14, 43, 59, tzinfo=timezone.utc).timestamp()) * 1000 + 176
PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


def test_spec_example() -> None:
    assert format_date(SPEC_MS, "America/Caracas") == "2013-09-17T10:13:59.176-04:30"


@pytest.mark.parametrize(
    ("ms", "tz", "expected"),
    [
        (0, "UTC", "1970-01-01T00:00:00.000+00:00"),
        (-1, "UTC", "1969-12-31T23:59:59.999+00:00"),
        (0, "Asia/Kolkata", "1970-01-01T05:30:00.000+05:30"),
        (1_700_000_000_005, "America/Caracas", "2023-11-14T18:13:20.005-04:00"),  # after 2016
        (1_719_792_000_000, "Europe/Madrid", "2024-07-01T02:00:00.000+02:00"),  # summer time
        (1_704_067_200_000, "Europe/Madrid", "2024-01-01T01:00:00.000+01:00"),
        (-2_500_000_000_000, "America/Caracas", "1890-10-11T15:05:40.000-04:27"),  # LMT -4:27:44
    ],
)
def test_format(ms: int, tz: str, expected: str) -> None:
    assert format_date(ms, tz) == expected


@given(
    st.integers(min_value=-2_000_000_000_000, max_value=4_000_000_000_000),
    st.sampled_from(["UTC", "America/Caracas", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]),
)
def test_shape_and_instant(ms: int, tz: str) -> None:
    text = format_date(ms, tz)
    assert PATTERN.match(text)
    if tz == "UTC" or ms > 0:  # no seconds in the offset: the text is the exact instant
        parsed = datetime.fromisoformat(text)
        assert round(parsed.timestamp() * 1000) == ms


def test_unknown_zone_raises() -> None:
    with pytest.raises(Exception):
        format_date(0, "Mars/Olympus")


@pytest.mark.parametrize("name", ["America/Caracas", "UTC", "Europe/Madrid", "Asia/Kathmandu"])
def test_valid_zones(name: str) -> None:
    assert is_valid_timezone(name)


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../etc/passwd", "/etc/passwd", "a\x00b", "+04:30"])
def test_invalid_zones(name: str) -> None:
    assert not is_valid_timezone(name)


_ZONES = ["America/Caracas", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe",
          "Pacific/Chatham", "UTC", "America/St_Johns"]


@given(
    st.lists(st.tuples(st.integers(-2_000_000_000_000, 4_000_000_000_000), st.sampled_from(_ZONES),
                       st.integers(0, 120_000)), min_size=1, max_size=20)
)
def test_the_per_minute_cache_writes_what_the_zone_database_says(calls: list[tuple[int, str, int]]) -> None:
    """Calls close together (same minute, across a minute or a DST change) and far apart."""
    from mecm.domain.dates import _format_date

    for epoch_ms, zone, step_ms in calls:
        for instant in (epoch_ms, epoch_ms + step_ms, epoch_ms + step_ms + 1):
            assert format_date(instant, zone) == _format_date(instant, zone)


def test_a_dst_change_inside_the_cached_minute_boundary_is_seen() -> None:
    # 2024-03-10 07:00:00Z: New York moves from -05:00 to -04:00.
    change_ms = 1_710_054_000_000
    assert format_date(change_ms - 1, "America/New_York") == "2024-03-10T01:59:59.999-05:00"
    assert format_date(change_ms, "America/New_York") == "2024-03-10T03:00:00.000-04:00"
