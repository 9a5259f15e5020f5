"""verifyPin's policy (SPEC section 9) as decisions over plain values.

The newest PIN sent to a number by a workspace is the one checked; sending a new one supersedes
the older ones. Each wrong guess uses one of ``max_attempts``; when none are left the PIN is locked;
the right guess approves it once and consumes it. The service (services/pins.py) reads the PIN,
asks ``before_guess``, compares, and records the guess with a guarded update; when another
verification changed the PIN in between, the update finds nothing and ``settled`` answers from
the PIN as it is now.

``attempts_left`` is how many wrong guesses the PIN still allows: 0 with every final answer
(approved, expired, locked, none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Result(str, Enum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    LOCKED = "locked"
    NONE = "none"  # no PIN was sent to the number, or its newest was approved already


@dataclass(frozen=True)
class PinState:
    """The newest PIN of a (workspace, number), as stored."""

    message_id: int
    pin_hash: str = field(repr=False)
    expires_at_ms: int
    attempts: int  # wrong guesses so far
    verified: bool


@dataclass(frozen=True)
class Verification:
    result: Result
    attempts_left: int = 0


def before_guess(state: PinState | None, now_ms: int, max_attempts: int) -> Verification | None:
    """The answer that needs no comparison, or None: the guess is to be compared."""
    if state is None or state.verified:
        return Verification(Result.NONE)
    if now_ms >= state.expires_at_ms:
        return Verification(Result.EXPIRED)
    if state.attempts >= max_attempts:
        return Verification(Result.LOCKED)
    return None


def wrong_guess(attempts_after: int, max_attempts: int) -> Verification:
    """A wrong guess, counted: ``attempts_after`` wrong guesses so far, this one included."""
    return Verification(Result.DENIED, max(0, max_attempts - attempts_after))


def settled(state: PinState | None, now_ms: int, max_attempts: int) -> Verification:
    """The answer when the guarded update found the PIN no longer open to guesses: another
    verification approved or locked it in between, or it expired."""
    answer = before_guess(state, now_ms, max_attempts)
    # Open to guesses after all (cannot happen: the update's guard is before_guess's test): refuse.
    return answer if answer is not None else Verification(Result.LOCKED)
