"""Validity of digits-only international numbers, decided exactly as phonenumbers decides it, fast.

``phonenumbers.parse`` followed by ``is_valid_number`` costs tens of microseconds in pure Python:
parsing handles formats an MT never arrives in, and the type check compiles and runs a dozen
patterns one by one. Every send pays it, and a cache does not help when numbers are all different.

Our input is already E.164 digits. So, per country calling code and on first use, this module
compiles what ``is_valid_number`` consults: for each region the general pattern and, per
national-number length, ONE alternation of every number-type pattern that allows that length.
A number is then judged by two or three compiled-regex calls.

Where parsing could change the digits (a national prefix that the region strips, a national
number starting with 0, a non-geographic calling code) the number is handed to phonenumbers
itself, so the answer is phonenumbers' answer in every case; tests/unit/domain/test_numbering.py
checks that over every calling code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

# The number types phonenumbers' _number_type_helper tries; any match makes a number valid.
_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
               "voicemail", "fixed_line", "mobile")
_MAX_NSN = 17  # phonenumbers' longest national significant number
_NON_GEO = "001"


@dataclass(frozen=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    general_lengths: frozenset[int]  # empty: any length
    general: re.Pattern[str] | None
    types_by_length: dict[int, re.Pattern[str]]  # alternation of the type patterns allowing that length

    def has_type(self, national: str) -> bool:
        """phonenumbers' _number_type_helper(national, metadata) != UNKNOWN."""
        if self.general is None:
            return False
        if self.general_lengths and len(national) not in self.general_lengths:
            return False
        if self.general.fullmatch(national) is None:
            return False
        pattern = self.types_by_length.get(len(national))
        return pattern is not None and pattern.fullmatch(national) is not None


@dataclass(frozen=True)
class _Country:
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing of the main region
    regions: tuple[_Region, ...]


def _compile_region(metadata: PhoneMetadata) -> _Region:
    general = metadata.general_desc
    general_pattern = general.national_number_pattern if general is not None else None
    descs = [getattr(metadata, name) for name in _TYPE_DESCS]
    if metadata.same_mobile_and_fixed_line_pattern:
        descs.pop()  # phonenumbers then never tries mobile on its own
    typed = [(frozenset(d.possible_length), d.national_number_pattern)
             for d in descs if d is not None and d.national_number_pattern]
    types_by_length: dict[int, re.Pattern[str]] = {}
    for length in range(1, _MAX_NSN + 1):
        # A type without possible lengths allows whatever the general description allows.
        patterns = [p for lengths, p in typed if not lengths or length in lengths]
        if patterns:
            types_by_length[length] = re.compile("|".join(f"(?:{p})" for p in patterns))
    return _Region(
        leading_digits=re.compile(metadata.leading_digits) if metadata.leading_digits else None,
        general_lengths=frozenset(general.possible_length) if general is not None else frozenset(),
        general=re.compile(general_pattern) if general_pattern else None,
        types_by_length=types_by_length,
    )


@lru_cache(maxsize=None)
def _country(calling_code: int) -> _Country | None:
    """Compiled tables for one calling code, or None where phonenumbers itself must decide."""
    region_codes = COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ())
    if not region_codes or _NON_GEO in region_codes:
        return None
    metadata = [PhoneMetadata.metadata_for_region(code, None) for code in region_codes]
    if any(m is None for m in metadata):
        return None
    prefix = metadata[0].national_prefix_for_parsing
    return _Country(
        national_prefix=re.compile(prefix) if prefix else None,
        regions=tuple(_compile_region(m) for m in metadata),
    )


def _split_calling_code(digits: str) -> tuple[int, str] | None:
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def valid_e164_digits(digits: str) -> str | None:
    """The canonical E.164 digits (no "+") when phonenumbers calls ``+digits`` valid, else None.

    ``digits`` must be ASCII digits only.
    """
    split = _split_calling_code(digits)
    if split is None:
        return None
    calling_code, national = split
    country = _country(calling_code)
    if (
        country is None
        or len(national) < 2
        or national[0] == "0"
        or (country.national_prefix is not None and country.national_prefix.match(national))
    ):
        return _slow_valid_e164_digits(digits)
    for region in country.regions:
        # phonenumbers picks the first region whose leading digits match, or, for a region without
        # leading digits, the first where the number has a type; the number is valid in that one.
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return digits if region.has_type(national) else None
        elif region.has_type(national):
            return digits
    return None


def _slow_valid_e164_digits(digits: str) -> str | None:
    """phonenumbers' own parse and validation: the reference the fast path must agree with."""
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
