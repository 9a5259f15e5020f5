from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.flags import Flags, parse_flags, stored_flags
from mecm.errors import InvalidParameter


@pytest.mark.parametrize("raw", [None, "", "null", "NULL", ",", " , ,"])
def test_no_flags(raw: str | None) -> None:
    flags = parse_flags(raw)
    assert flags == Flags()
    assert flags.raw() == ""


def test_recognised_tokens() -> None:
    f = parse_flags("flash,nodlr,priority=high,validity=30,at=1379428439176")
    assert f == Flags(
        tokens=("flash", "nodlr", "priority=high", "validity=30", "at=1379428439176"),
        flash=True,
        nodlr=True,
        priority="high",
        validity_minutes=30,
        at_ms=1379428439176,
    )
    assert f.raw() == "flash,nodlr,priority=high,validity=30,at=1379428439176"


def test_unknown_tokens_are_kept_and_whitespace_stripped() -> None:
    f = parse_flags(" campaign=42 , flash,,x=a=b , priority = Low ")
    assert f.tokens == ("campaign=42", "flash", "x=a=b", "priority = Low")
    assert f.flash and f.priority == "low" and not f.nodlr
    assert f.raw() == "campaign=42,flash,x=a=b,priority = Low"


@pytest.mark.parametrize(
    "token",
    [
        "IE5vLCBkZWNsaW5lZC4=",  # the tail of a standard-Base64 text split at its "/" (SPEC section 2)
        "d29ybGQ=",  # lower-case, but "=" with nothing after it is padding, not a value
        "FLASH",  # names are lower-case
        "Campaign=42",
        "9lives",  # a name starts with a letter
        "a+b",
        "x y",
        "=value",
        "é=1",
    ],
)
def test_what_has_not_the_shape_of_a_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_flags("flash," + token)
    assert e.value.name == "flags"
    assert e.value.reason.startswith(f"{token!r} is not a flag: expected name or name=value")


def test_last_repeated_token_wins() -> None:
    assert parse_flags("priority=high,priority=low").priority == "low"


@pytest.mark.parametrize(
    "token",
    [
        "priority=urgent",
        "priority",
        "validity=0",
        "validity=-5",
        "validity=1.5",
        "validity=ten",
        "validity=525601",
        "validity",
        "at=soon",
        "at=-1",
        "at=" + "9" * 30,
        "flash=1",
        "nodlr=yes",
    ],
)
def test_recognised_token_with_bad_value(token: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_flags("flash," + token)
    assert e.value.name == "flags"
    assert e.value.reason == f"bad value in {token!r}"


@given(st.lists(st.text(alphabet="abcxyz=0123 ", min_size=1, max_size=8), max_size=6))
def test_unknown_tokens_round_trip(tokens: list[str]) -> None:
    raw = ",".join(tokens)
    try:
        f = parse_flags(raw)
    except InvalidParameter:
        return
    assert f.tokens == tuple(t.strip() for t in tokens if t.strip())
    assert parse_flags(f.raw()) == f


def test_stored_flags_of_an_earlier_mecm_are_still_read() -> None:
    # Accepted before the grammar of SPEC section 1 was enforced, and maybe still queued.
    flags = stored_flags("FLASH, priority = Low,x y")
    assert flags.flash and flags.priority == "low"
    assert flags.tokens == ("FLASH", "priority = Low", "x y")
    with pytest.raises(InvalidParameter):
        parse_flags("FLASH")
