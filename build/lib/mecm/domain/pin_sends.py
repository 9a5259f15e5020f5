"""SMS-pumping defence, as values: how many PIN sends a workspace allows to one number and to one
block of numbers over a window, and to which countries.

SMS pumping: an attacker has a PIN endpoint send codes to ranges of (premium) numbers that pay the
attacker per message received. Such traffic walks through a block of numbers, or hammers one, or
goes to countries the business has no customers in; these limits stop each.

A *block* is a number without its last ``BLOCK_DIGITS`` digits: 10,000 consecutive numbers, the
unit ranges are allocated in, whatever the country's numbering plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from mecm.domain.phone import region_of
from mecm.errors import InvalidParameter

BLOCK_DIGITS = 4
MAX_PER_WINDOW = 1_000_000


@dataclass(frozen=True)
class PinSendPolicy:
    per_number: int  # PIN sends to one number per window; 0: no limit
    per_block: int  # PIN sends to one block of numbers per window; 0: no limit
    countries: frozenset[str] = frozenset()  # ISO 3166 regions PINs may go to; empty: any


def block_of(number: str) -> str:
    """The block a (normalised, digits-only) number belongs to."""
    return number[:-BLOCK_DIGITS]


def country_refusal(number: str, policy: PinSendPolicy) -> str | None:
    """Why a PIN to ``number`` is refused by the country allow-list, or None when it may go."""
    if not policy.countries:
        return None
    region = region_of(number)
    if region in policy.countries:
        return None
    return f"PIN sends to country {region or 'unknown'} not allowed in this workspace"


def window_retry_after_s(oldest_ms: int, window_s: int, now_ms: int) -> int:
    """Whole seconds until the oldest send counted in the window leaves it (at least 1)."""
    return max(1, -(-(oldest_ms + window_s * 1000 - now_ms) // 1000))


def parse_countries(raw: str, name: str = "countries") -> frozenset[str]:
    """A comma list of ISO 3166 region codes ("US,CA,GB"); "" allows every country."""
    regions = {part.strip().upper() for part in raw.split(",") if part.strip()}
    unknown = sorted(r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS)
    if unknown:
        raise InvalidParameter(name, f"not ISO 3166 region codes of numbering plans: {', '.join(unknown)}")
    return frozenset(regions)


def check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PER_WINDOW:
        raise InvalidParameter(name, f"must be a whole number from 0 (no limit) to {MAX_PER_WINDOW}")
    return value
