"""What a message costs, and whether its price goes back: pure decisions over plain values.

A workspace's price list is a set of rows (carrier or ``*``, number prefix, price per segment). The
row whose prefix is the longest prefix of the recipient's number wins; at equal length, a row for
the message's own carrier wins over ``*``. A workspace with no rows pays nothing (``PriceList`` is
absent). A workspace with rows, but none for a number, refuses the send: an unpriced destination is
never sent on credit (premium ranges are what SMS pumping aims at); a catch-all row (``*``, prefix
"") prices every number.

Refund policy: a priced message is refunded in full, once, when it becomes final without a carrier
ever having acknowledged it (no carrier message id): refused by the carrier at submit, opted out
before its turn, expired or out of tries before any carrier took it, unroutable. A message a carrier
took keeps its price whatever its receipt says (DELIVERED_TO_DEVICE, UNDELIVERED, EXPIRED): the
carrier charges for it. A message final at acceptance (BAD_CARRIER, opted out, bad number) is never
charged, so there is nothing to refund.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mecm.domain.status import Status
from mecm.errors import InvalidParameter

ANY_CARRIER = "*"
MAX_PREFIX = 15  # digits; an E.164 number has at most 15


@dataclass(frozen=True)
class PriceList:
    currency: str
    # (carrier or "*", prefix) -> micro-units per segment
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    longest: int = 0  # the longest prefix in rows
    # The rows as the look-up reads them, made once from ``rows``: prefix -> {carrier or "*": price},
    # and the lengths of the prefixes there are, longest first (a send looks up only those).
    by_prefix: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)
    lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_prefix: dict[str, dict[str, int]] = {}
        for (carrier, prefix), price in self.rows.items():
            by_prefix.setdefault(prefix, {})[carrier] = price
        object.__setattr__(self, "by_prefix", by_prefix)
        object.__setattr__(self, "lengths", tuple(sorted({len(prefix) for prefix in by_prefix}, reverse=True)))

    @classmethod
    def of(cls, currency: str, rows: dict[tuple[str, str], int]) -> PriceList:
        return cls(currency, dict(rows), max((len(prefix) for _, prefix in rows), default=0))

    def per_segment(self, carrier: str, number: str) -> int | None:
        """The price of one segment to ``number`` over ``carrier``; None when no row prices it."""
        size = len(number)
        for length in self.lengths:
            if length <= size and (prices := self.by_prefix.get(number[:length])) is not None:
                price = prices.get(carrier)
                if price is None:
                    price = prices.get(ANY_CARRIER)
                if price is not None:
                    return price
        return None

    def price(self, carrier: str, number: str, segments: int) -> int | None:
        per_segment = self.per_segment(carrier, number)
        return None if per_segment is None else per_segment * segments


def refund_due(status: str, carrier_acknowledged: bool, price: int | None, refunded: bool) -> bool:
    """The refund policy as a decision: a priced, not yet refunded message that is final and that
    no carrier acknowledged is refunded."""
    return (price is not None and price > 0 and not refunded and not carrier_acknowledged
            and status in REFUNDABLE_STATUSES)


# Final statuses a message can end in without a carrier having taken it. DELIVERED_TO_DEVICE needs
# a carrier; every other final status, reached with no carrier message id, means none took it.
REFUNDABLE_STATUSES = frozenset({
    Status.EXPIRED.value, Status.UNREACHABLE.value, Status.NOT_SENT.value, Status.BAD_FROM.value,
    Status.BAD_TO.value, Status.BAD_CARRIER.value, Status.NOT_ENOUGH_FUNDS.value, Status.UNDELIVERED.value,
})


def parse_prefix(raw: str | None, name: str = "prefix") -> str:
    """A number prefix: digits only (a leading + is dropped), at most 15; empty or None: every number."""
    value = (raw or "").strip().removeprefix("+")
    if not (value == "" or (value.isascii() and value.isdigit())) or len(value) > MAX_PREFIX:
        raise InvalidParameter(name, f"must be up to {MAX_PREFIX} digits (empty: every number)")
    return value
