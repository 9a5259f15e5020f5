from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mecm.domain.quiet import parse_quiet_hours, release_at
from mecm.errors import InvalidParameter

CARACAS = ZoneInfo("America/Caracas")


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=CARACAS).timestamp() * 1000)


@pytest.mark.parametrize(("now", "released"), [
    (ms(2026, 12, 1, 21, 59), ms(2026, 12, 1, 21, 59)),  # before: at once
    (ms(2026, 12, 1, 22, 0), ms(2026, 12, 2, 8, 0)),  # quiet: the next morning
    (ms(2026, 12, 2, 3, 30), ms(2026, 12, 2, 8, 0)),  # after midnight: the same morning
    (ms(2026, 12, 2, 8, 0), ms(2026, 12, 2, 8, 0)),  # the end is not quiet
])
def test_a_window_across_midnight(now: int, released: int) -> None:
    assert release_at(now, "America/Caracas", "22:00-08:00") == released


def test_a_window_within_a_day_and_none() -> None:
    assert release_at(ms(2026, 12, 1, 13, 0), "America/Caracas", "12:00-14:00") == ms(2026, 12, 1, 14, 0)
    assert release_at(ms(2026, 12, 1, 15, 0), "America/Caracas", "12:00-14:00") == ms(2026, 12, 1, 15, 0)
    assert release_at(123, "America/Caracas", None) == 123


@pytest.mark.parametrize("raw", ["22:00", "25:00-08:00", "22:00-22:00", "10pm-8am", "", "0\u0663:00-08:00"])
def test_bad_windows_are_refused(raw: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_quiet_hours(raw)
    assert raised.value.name == "quiet-hours"
