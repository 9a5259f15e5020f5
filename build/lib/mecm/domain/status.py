"""MT message statuses and the one rule about how they move (SPEC section 5).

Delivery receipts arrive late, twice, or out of order (a carrier may report DELIVERED before our
own SENT_TO_CARRIER bookkeeping commits). Rather than trusting arrival order, every update asks
`can_advance`: a status only moves forward through the ranks

    PENDING (0) < SENDING (1) < SENT_TO_CARRIER (2) < any final status (3)

and a final status never moves again, so the first final answer wins and a repeated or late
receipt is a harmless no-op.
"""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """A message status; the value equals the name, so it compares equal to the plain string."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT_TO_CARRIER = "SENT_TO_CARRIER"
    DELIVERED_TO_DEVICE = "DELIVERED_TO_DEVICE"
    UNDELIVERED = "UNDELIVERED"
    EXPIRED = "EXPIRED"
    UNREACHABLE = "UNREACHABLE"
    NOT_SENT = "NOT_SENT"
    BAD_FROM = "BAD_FROM"
    BAD_TO = "BAD_TO"
    BAD_CARRIER = "BAD_CARRIER"
    NOT_ENOUGH_FUNDS = "NOT_ENOUGH_FUNDS"

    def __str__(self) -> str:  # "PENDING", not "Status.PENDING", in f-strings and str()
        return self.value


DESCRIPTIONS: dict[Status, str] = {
    Status.PENDING: "Queued for delivery",
    Status.SENDING: "Being sent to the carrier",
    Status.SENT_TO_CARRIER: "Sent to Carrier",
    Status.DELIVERED_TO_DEVICE: "Delivered to device",
    Status.UNDELIVERED: "Not delivered to device",
    Status.EXPIRED: "Not delivered within its validity, or maximum tries reached",
    Status.UNREACHABLE: "Unknown mobile number",
    Status.NOT_SENT: "Refused by the carrier",
    Status.BAD_FROM: "Invalid from",
    Status.BAD_TO: "Invalid to",
    Status.BAD_CARRIER: "Invalid carrier",
    Status.NOT_ENOUGH_FUNDS: "Not enough funds",
}

# Details that say more than the status's description, and are shown in its place (statusDescription).
OPTED_OUT = "Subscriber opted out"
_SHOWN_DETAILS = frozenset({OPTED_OUT})


def describe(status: Status | str, detail: str | None = None) -> str:
    """The statusDescription of a message: its detail when that is one meant to be shown (an MT
    refused NOT_SENT because the subscriber opted out), otherwise the status's own description."""
    if detail in _SHOWN_DETAILS:
        return detail  # type: ignore[return-value]
    return DESCRIPTIONS[Status(status)]


_FINAL_RANK = 3
_RANKS: dict[Status, int] = {
    Status.PENDING: 0,
    Status.SENDING: 1,
    Status.SENT_TO_CARRIER: 2,
}
_RANKS.update({s: _FINAL_RANK for s in Status if s not in _RANKS})

FINAL: frozenset[Status] = frozenset(s for s, r in _RANKS.items() if r == _FINAL_RANK)


def rank(s: Status | str) -> int:
    """Position in the life cycle: 0, 1, 2 for the transient statuses, 3 for every final one.

    Accepts the plain string too (a str-valued enum hashes and compares like its value);
    an unknown name raises KeyError.
    """
    return _RANKS[s]  # type: ignore[index]


def is_final(s: Status | str) -> bool:
    """True when no later receipt may change the status."""
    return _RANKS[s] == _FINAL_RANK  # type: ignore[index]


def can_advance(current: Status | str, new: Status | str) -> bool:
    """True when `new` is strictly further along than `current` and `current` is not final.

    The same status is False (nothing to write), and two final statuses never replace each
    other, so the first final receipt wins.
    """
    cur = _RANKS[current]  # type: ignore[index]
    return cur != _FINAL_RANK and _RANKS[new] > cur  # type: ignore[index]
