"""The console's sign-in throttle, per e-mail address: growing delays, then a lock-out.

Each failed sign-in for an address counts; a success, or an hour without failures, clears the count.
A failed try is answered only after ``answer_delay_ms(count)`` (0.25, 0.5, 1, 2, 4 s ...), which
slows a client guessing one try after another; at ``LOCK_AFTER`` failures the address is locked for
``LOCK_MS`` from the last one, and a try during the lock is refused without its password being
looked at, so that no number of clients guessing side by side gets more than ``LOCK_AFTER`` guesses
per lock period. The count is kept per address whether or not a user has it, so that the answers do
not tell which addresses exist.

Pure: the caller gives the time (an injected clock in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

LOCK_AFTER = 5
LOCK_MS = 15 * 60 * 1000
FORGET_AFTER_MS = 60 * 60 * 1000
_FIRST_DELAY_MS = 250
_MAX_DELAY_MS = 4000


@dataclass(frozen=True)
class Failures:
    """An address's recent failures: how many, and when the last was."""

    count: int = 0
    last_at_ms: int = 0


def current(failures: Failures | None, now_ms: int) -> Failures:
    """The failures that still count at ``now_ms`` (none after a quiet hour)."""
    if failures is None or now_ms - failures.last_at_ms >= FORGET_AFTER_MS:
        return Failures()
    return failures


def locked_for_ms(failures: Failures | None, now_ms: int) -> int:
    """How much longer the address is locked; 0: it may try."""
    counted = current(failures, now_ms)
    if counted.count < LOCK_AFTER:
        return 0
    return max(0, counted.last_at_ms + LOCK_MS - now_ms)


def after_failure(failures: Failures | None, now_ms: int) -> Failures:
    counted = current(failures, now_ms)
    return Failures(counted.count + 1, now_ms)


def answer_delay_ms(count: int) -> int:
    """How long a failed try, the ``count``-th in a row, waits before it is answered."""
    if count <= 0:
        return 0
    return min(_FIRST_DELAY_MS * 2 ** (count - 1), _MAX_DELAY_MS)
