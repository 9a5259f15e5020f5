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
