"""The fast validity check must give phonenumbers' own answer for every input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType, example_number_for_type, format_number
from phonenumbers import PhoneNumberFormat

from mecm.domain.numbering import _slow_valid_e164_digits, valid_e164_digits

_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE,
          PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP)


def _examples() -> list[str]:
    """phonenumbers' example numbers of several types for every region: valid by construction."""
    numbers = []
    for regions in COUNTRY_CODE_TO_REGION_CODE.values():
        for region in regions:
            for kind in _TYPES:
                example = example_number_for_type(region, kind) if region != "001" else None
                if example is not None:
                    numbers.append(format_number(example, PhoneNumberFormat.E164)[1:])
    return numbers


EXAMPLES = _examples()


def test_every_example_number_is_valid_as_phonenumbers_says() -> None:
    assert len(EXAMPLES) > 500
    for digits in EXAMPLES:
        assert valid_e164_digits(digits) == _slow_valid_e164_digits(digits) == digits, digits


def test_near_misses_of_every_example_agree() -> None:
    """Each example with a digit changed, added or dropped: mostly invalid, sometimes valid."""
    rng = random.Random(1234)
    for digits in EXAMPLES:
        variants = [digits[:-1], digits + str(rng.randrange(10)), digits + "00"]
        for _ in range(4):
            i = rng.randrange(len(digits))
            variants.append(digits[:i] + str(rng.randrange(10)) + digits[i + 1:])
        for variant in variants:
            assert valid_e164_digits(variant) == _slow_valid_e164_digits(variant), variant


@pytest.mark.parametrize("calling_code", sorted(COUNTRY_CODE_TO_REGION_CODE))
def test_random_numbers_of_every_calling_code_agree(calling_code: int) -> None:
    rng = random.Random(calling_code)
    for _ in range(150):
        length = rng.randrange(1, 15 - len(str(calling_code)) + 1)
        digits = f"{calling_code}{rng.randrange(10 ** length):0{length}d}"
        assert valid_e164_digits(digits) == _slow_valid_e164_digits(digits), digits


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_any_digit_string_agrees(digits: str) -> None:
    assert valid_e164_digits(digits) == _slow_valid_e164_digits(digits)
