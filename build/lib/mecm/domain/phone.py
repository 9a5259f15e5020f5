"""Mobile numbers: what an MT may be sent to, what an MO may come from (SPEC section 1).

Numbers are stored and shown as international digits without "+" (E.164 minus the plus, as in
the documented samples ``13056708084``). API clients may add a leading "+" or "00"; anything else
that is not a digit (spaces inside, dashes, letters) is refused rather than guessed at. Numbers an
admin writes into a list may have spaces, dashes, dots and parentheses between the digits
(``normalize_written_number``), as people write them.

An MT is a request we are about to pay for, so its number must pass phonenumbers'
`is_valid_number`. An MO is a fact reported by a carrier (or fired through the API), so any
3 to 15 digits are kept: refusing it would lose the subscriber's message.

Validity comes from mecm.domain.numbering: phonenumbers' own answer, from precompiled tables
(phonenumbers' parse-and-validate costs tens of microseconds on every send otherwise). Routing
hints still use phonenumbers directly, cached per digit string.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import carrier as _carrier

from mecm.domain.numbering import valid_e164_digits
from mecm.errors import InvalidParameter

_MAX_E164_DIGITS = 15


def _strip_prefix(raw: str) -> str:
    """Whitespace around, then one leading "+" or "00"; the rest is returned unchecked."""
    s = raw.strip()
    if s.startswith("+"):
        return s[1:]
    if s.startswith("00"):
        return s[2:]
    return s


def _is_digits(s: str) -> bool:
    # isascii first: str.isdigit alone accepts "١٢٣" and superscripts.
    return s.isascii() and s.isdigit()


def normalize_mt_number(raw: str, name: str = "mobileNumber") -> str:
    """Digits-only E.164 for a number an MT may be sent to, or InvalidParameter(name, ...)."""
    digits = _strip_prefix(raw)
    if not _is_digits(digits) or len(digits) > _MAX_E164_DIGITS:
        raise InvalidParameter(name, "not a valid phone number")
    normalized = valid_e164_digits(digits)
    if normalized is None:
        raise InvalidParameter(name, "not a valid phone number")
    return normalized


# What people put between the digits of a number they write down (a spreadsheet, a form):
# "+58 414-555.0001", "+58 (414) 555 0001". Only admin input takes these (lists); the API does not.
_WRITTEN_SEPARATORS = re.compile(r"[\s.()\-]")
_WRITTEN_SHAPE = re.compile(r"^(\+|00)?[0-9]+$")


def normalize_written_number(raw: str, name: str = "number") -> str:
    """A number as people write it, for a list: digits, an optional leading "+" (or "00"), and
    spaces, dashes, dots or parentheses anywhere between; normalised as an MT addresses it, or
    InvalidParameter(name, ...) saying what is wrong with it."""
    compact = _WRITTEN_SEPARATORS.sub("", raw)
    if not compact.isascii() or not _WRITTEN_SHAPE.match(compact):
        raise InvalidParameter(name, f"{raw!r} is not a phone number: digits only, with an optional leading + "
                                     "and spaces, dashes, dots or parentheses between them")
    try:
        return normalize_mt_number(compact, name)
    except InvalidParameter:
        raise InvalidParameter(name, f"{raw!r} is not a valid mobile number (international form, country "
                                     "code first: +58 414 555 0001)") from None


def normalize_mo_number(raw: str, name: str = "mobileNumber") -> str:
    """Digits of an MO sender: any 3 to 15 digits after the optional "+" / "00" prefix."""
    digits = _strip_prefix(raw)
    if not _is_digits(digits) or not 3 <= len(digits) <= _MAX_E164_DIGITS:
        raise InvalidParameter(name, "must be 3 to 15 digits")
    return digits


@lru_cache(maxsize=65536)
def _parse_or_none(number: str) -> phonenumbers.PhoneNumber | None:
    digits = _strip_prefix(number)
    if not _is_digits(digits):
        return None
    try:
        return phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=65536)
def carrier_hint(number: str) -> str | None:
    """The operator phonenumbers associates with the number's range (English), or None.

    Only a hint for routing: numbers get ported, and many ranges (e.g. the US) have no data.
    """
    parsed = _parse_or_none(number)
    if parsed is None:
        return None
    return _carrier.name_for_number(parsed, "en") or None


@lru_cache(maxsize=65536)
def region_of(number: str) -> str | None:
    """ISO 3166 region code ("US", "VE") of a digits-only number, or None when unknown."""
    parsed = _parse_or_none(number)
    if parsed is None:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != "ZZ" else None
