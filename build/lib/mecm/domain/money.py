"""Money as integers: micro-units (1/1,000,000) of a workspace's currency, never floats.

An SMS costs fractions of a cent (0.0075 USD a segment is common), so cents are too coarse; six
decimal places hold every price list we know of. Amounts are entered and shown as decimal strings.
"""

from __future__ import annotations

import re

from mecm.errors import InvalidParameter

MICRO = 1_000_000
MAX_UNITS = 1_000_000_000_000  # a bound on any one amount: far from BIGINT's end, whatever the sums
_AMOUNT = re.compile(r"^(\d{1,13})(?:\.(\d{1,6}))?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_amount(raw: str, name: str, *, allow_zero: bool = False) -> int:
    """``"12.5"`` -> 12_500_000. Digits with at most six decimals; no sign, no exponent."""
    match = _AMOUNT.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise InvalidParameter(name, "must be a decimal amount such as 10 or 0.0075 (at most 6 decimals)")
    whole, fraction = match.group(1), (match.group(2) or "")
    micro = int(whole) * MICRO + int(fraction.ljust(6, "0") or "0")
    if micro >= MAX_UNITS * MICRO:
        raise InvalidParameter(name, f"must be less than {MAX_UNITS}")
    if micro == 0 and not allow_zero:
        raise InvalidParameter(name, "must be more than 0")
    return micro


def format_amount(micro: int) -> str:
    """12_500_000 -> ``"12.50"``: at least two decimals, trailing zeros beyond them dropped."""
    sign = "-" if micro < 0 else ""
    whole, fraction = divmod(abs(micro), MICRO)
    decimals = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{decimals}"


def parse_currency(raw: str, name: str = "currency") -> str:
    if not isinstance(raw, str) or not _CURRENCY.match(raw.strip().upper()):
        raise InvalidParameter(name, "must be a three-letter ISO 4217 code such as USD")
    return raw.strip().upper()
