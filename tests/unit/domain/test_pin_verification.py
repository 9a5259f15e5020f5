"""verifyPin's policy as values: which answer a PIN's state gives before and after a guess."""

from __future__ import annotations

import pytest

from mecm.domain.pin_verification import (
    PinState,
    Result,
    Verification,
    before_guess,
    settled,
    wrong_guess,
)

NOW = 1_000_000
MAX = 5


def state(attempts: int = 0, expires_at_ms: int = NOW + 1, verified: bool = False) -> PinState:
    return PinState(7, "hash", expires_at_ms, attempts, verified)


def test_no_pin_is_none() -> None:
    assert before_guess(None, NOW, MAX) == Verification(Result.NONE, 0)


def test_an_approved_pin_is_not_open_again() -> None:
    assert before_guess(state(verified=True), NOW, MAX) == Verification(Result.NONE, 0)


@pytest.mark.parametrize("expires", [NOW, NOW - 1])
def test_at_or_past_its_expiry_a_pin_is_expired(expires: int) -> None:
    assert before_guess(state(expires_at_ms=expires), NOW, MAX) == Verification(Result.EXPIRED, 0)


def test_expired_wins_over_locked() -> None:
    assert before_guess(state(attempts=MAX, expires_at_ms=NOW), NOW, MAX).result is Result.EXPIRED


@pytest.mark.parametrize("attempts", [MAX, MAX + 3])
def test_no_attempt_left_is_locked(attempts: int) -> None:
    assert before_guess(state(attempts=attempts), NOW, MAX) == Verification(Result.LOCKED, 0)


@pytest.mark.parametrize("attempts", range(MAX))
def test_an_open_pin_is_compared(attempts: int) -> None:
    assert before_guess(state(attempts=attempts), NOW, MAX) is None


def test_wrong_guesses_count_down_to_zero() -> None:
    assert [wrong_guess(n, MAX) for n in range(1, MAX + 1)] == [
        Verification(Result.DENIED, left) for left in (4, 3, 2, 1, 0)
    ]


def test_settled_answers_from_the_state_another_verification_left() -> None:
    assert settled(state(verified=True), NOW, MAX).result is Result.NONE
    assert settled(state(attempts=MAX), NOW, MAX).result is Result.LOCKED
    assert settled(state(expires_at_ms=NOW), NOW, MAX).result is Result.EXPIRED
    assert settled(state(), NOW, MAX).result is Result.LOCKED  # open after all: refused, never approved


def test_the_hash_stays_out_of_a_repr() -> None:
    assert "hash" not in repr(state())
