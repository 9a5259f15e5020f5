"""Key expiry as values: when a key stops, the durations and dates people type, and rotation's end."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from mecm.domain.key_expiry import end_of_overlap, expiry_from, is_expired, parse_duration, parse_instant
from mecm.errors import InvalidParameter

CARACAS = ZoneInfo("America/Caracas")  # -04:00 since 2016
NOW = 1_800_000_000_000


def test_a_key_stops_at_its_expiry_instant_not_a_millisecond_later() -> None:
    assert not is_expired(None, NOW)
    assert not is_expired(NOW + 1, NOW)
    assert is_expired(NOW, NOW)
    assert is_expired(NOW - 1, NOW)


@pytest.mark.parametrize(("raw", "ms"), [("2s", 2000), ("30m", 1_800_000), ("24h", 86_400_000),
                                         ("90d", 90 * 86_400_000), (" 12H ", 12 * 3_600_000)])
def test_durations(raw: str, ms: int) -> None:
    assert parse_duration(raw, "overlap") == ms


def test_zero_is_a_duration_only_where_allowed() -> None:
    assert parse_duration("0", "overlap", allow_zero=True) == 0
    assert parse_duration("0h", "overlap", allow_zero=True) == 0
    with pytest.raises(InvalidParameter, match="expires-in: must be more than 0"):
        parse_duration("0d", "expires-in")


@pytest.mark.parametrize("raw", ["", "24", "h", "1.5h", "-2d", "2 weeks", "1w", "²d", "٣d"])
def test_a_bad_duration_names_the_option_and_the_form(raw: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_duration(raw, "overlap", allow_zero=True)
    assert caught.value.name == "overlap" and "is not a duration" in caught.value.reason


def test_a_duration_beyond_ten_years_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="expires-in: must be at most 3650d"):
        parse_duration("3651d", "expires-in")


def test_a_date_is_midnight_in_the_workspace_zone_and_an_offset_wins() -> None:
    assert parse_instant("2027-01-31", "expires", CARACAS) == 1_801_368_000_000  # 2027-01-31T04:00Z
    assert parse_instant("2027-01-31T00:00+00:00", "expires", CARACAS) == 1_801_353_600_000
    assert parse_instant("2027-01-31T18:30", "expires", CARACAS) == 1_801_368_000_000 + (18 * 60 + 30) * 60_000


@pytest.mark.parametrize("raw", ["2027-02-30", "31/01/2027", "tomorrow", "2027-01-31T25:00", "0001-01-01T00:00+14:00"])
def test_a_bad_date_names_the_option(raw: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_instant(raw, "expires", CARACAS)
    assert caught.value.name == "expires" and repr(raw) in caught.value.reason


def test_expiry_from_the_options() -> None:
    assert expiry_from(expires=None, expires_in=None, now_ms=NOW, zone=CARACAS, future_only=True) is None
    assert expiry_from(expires=None, expires_in="2s", now_ms=NOW, zone=CARACAS, future_only=True) == NOW + 2000
    with pytest.raises(InvalidParameter, match="expires: cannot be given with expires-in"):
        expiry_from(expires="2027-01-31", expires_in="2s", now_ms=NOW, zone=CARACAS, future_only=False)


def test_a_past_expiry_is_refused_at_creation_and_allowed_as_a_suspension() -> None:
    with pytest.raises(InvalidParameter, match="expires: '2020-01-01' is already past"):
        expiry_from(expires="2020-01-01", expires_in=None, now_ms=NOW, zone=CARACAS, future_only=True)
    past = expiry_from(expires="2020-01-01", expires_in=None, now_ms=NOW, zone=CARACAS, future_only=False)
    assert past is not None and is_expired(past, NOW)


def test_a_rotation_ends_the_old_key_after_the_overlap_but_never_later_than_it_would_have_ended() -> None:
    assert end_of_overlap(None, 86_400_000, NOW) == NOW + 86_400_000
    assert end_of_overlap(NOW + 60_000, 86_400_000, NOW) == NOW + 60_000  # its own expiry came sooner
    assert end_of_overlap(NOW + 10 * 86_400_000, 86_400_000, NOW) == NOW + 86_400_000
