from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mecm.domain.phone import (
    carrier_hint,
    normalize_mo_number,
    normalize_mt_number,
    normalize_written_number,
    region_of,
)
from mecm.errors import InvalidParameter

US = "13056708084"  # the documented sample, a valid US (Miami) number
VE = "584141234567"  # Movistar Venezuela mobile


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (US, US),
        ("+" + US, US),
        ("00" + US, US),
        (f"  {US}\t", US),
        (VE, VE),
        ("+" + VE, VE),
        ("00" + VE, VE),
        ("19893653744", "19893653744"),
    ],
)
def test_mt_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalize_mt_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "+",
        "00",
        "12",
        "58123456789",  # the documented placeholder is not a real Venezuelan number
        "1305670808",  # one digit short
        "1305abc8084",
        "+1 305 670 8084",  # inner spaces are not guessed at
        "+1-305-670-8084",
        "++13056708084",
        "0013056708084" + "0" * 10,
        "١٣٠٥٦٧٠٨٠٨٤",  # Arabic-Indic digits are digits to str.isdigit, not to us
        "13056708084x",
    ],
)
def test_mt_rejects(raw: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        normalize_mt_number(raw)
    assert e.value.name == "mobileNumber"
    assert e.value.reason == "not a valid phone number"


def test_mt_error_names_the_parameter() -> None:
    with pytest.raises(InvalidParameter) as e:
        normalize_mt_number("nope", name="to")
    assert str(e.value) == "Invalid parameter to: not a valid phone number"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123", "123"), ("+58123456789", "58123456789"), ("00123", "123"), (" 12345 ", "12345")],
)
def test_mo_accepts_any_3_to_15_digits(raw: str, expected: str) -> None:
    assert normalize_mo_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "12", "+12", "0012", "1" * 16, "12a4", "12 34", "¹²³"])
def test_mo_rejects(raw: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        normalize_mo_number(raw, name="recipient_address")
    assert e.value.name == "recipient_address"
    assert e.value.reason == "must be 3 to 15 digits"


@given(st.text(alphabet="0123456789", min_size=3, max_size=15))
def test_mo_digits_round_trip(digits: str) -> None:
    assume(not digits.startswith("00"))  # that is the international prefix
    assert normalize_mo_number(digits) == digits
    assert normalize_mo_number("+" + digits) == digits


@given(st.text(max_size=20))
def test_mt_never_raises_anything_but_invalid_parameter(raw: str) -> None:
    try:
        result = normalize_mt_number(raw)
    except InvalidParameter:
        return
    assert result.isdigit() and result.isascii() and len(result) <= 15


def test_carrier_hint_and_region() -> None:
    assert carrier_hint(VE) == "movistar"
    assert carrier_hint(US) is None  # no carrier data for US ranges
    assert carrier_hint("12") is None
    assert carrier_hint("abc") is None
    assert region_of(US) == "US"
    assert region_of(VE) == "VE"
    assert region_of("999999") is None


# A list's numbers, as people write them (docs/campaigns.md: "+58 414..." becomes "58414...").
@pytest.mark.parametrize(
    "raw",
    ["+58 414 555 0001", "+58-414-555-0001", "+58.414.555.0001", "+58 (414) 555-0001", "(+58) 414 5550001",
     "0058 414 555 0001", "58 414 555 0001", " +584145550001 ", "+58\t414\u00a0555 0001"],
)
def test_a_written_number_accepts_spaces_dashes_dots_and_parentheses(raw: str) -> None:
    assert normalize_written_number(raw) == "584145550001"


@pytest.mark.parametrize(
    ("raw", "why"),
    [("+58 414 555 000x", "is not a phone number"), ("58+4145550001", "is not a phone number"),
     ("call 584145550001", "is not a phone number"), ("+58/414/5550001", "is not a phone number"),
     ("", "is not a phone number"), ("- ( ) .", "is not a phone number"), ("+٥٨٤١٤٥٥٥٠٠٠١", "is not a phone number"),
     ("+58 414 555", "is not a valid mobile number"), ("0414 555 0001", "is not a valid mobile number")],
)
def test_a_written_number_refuses_anything_else_saying_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        normalize_written_number(raw, "number")
    assert caught.value.name == "number" and why in caught.value.reason and repr(raw) in caught.value.reason


def test_the_api_still_refuses_what_a_list_accepts() -> None:
    with pytest.raises(InvalidParameter):
        normalize_mt_number("+58 414 555 0001")
