"""The console's sign-in throttle (domain/sign_in.py), on a clock the test sets."""

from __future__ import annotations

import pytest

from mecm.domain.sign_in import (
    FORGET_AFTER_MS, LOCK_AFTER, LOCK_MS, Failures, after_failure, answer_delay_ms, locked_for_ms,
)
from tests.support.databases import no_database

pytestmark = no_database

T0 = 1_800_000_000_000


@pytest.mark.parametrize(("count", "delay_ms"), [(0, 0), (1, 250), (2, 500), (3, 1000), (4, 2000), (5, 4000),
                                                 (9, 4000)])
def test_each_failure_in_a_row_is_answered_later_than_the_one_before(count: int, delay_ms: int) -> None:
    assert answer_delay_ms(count) == delay_ms


def test_an_address_locks_at_its_fifth_failure_for_fifteen_minutes_from_the_last() -> None:
    failures = None
    for i in range(LOCK_AFTER - 1):
        failures = after_failure(failures, T0 + i)
        assert locked_for_ms(failures, T0 + i) == 0
    failures = after_failure(failures, T0 + 100)
    assert failures.count == LOCK_AFTER
    assert locked_for_ms(failures, T0 + 100) == LOCK_MS
    assert locked_for_ms(failures, T0 + 100 + LOCK_MS - 1) == 1
    assert locked_for_ms(failures, T0 + 100 + LOCK_MS) == 0


def test_after_a_lock_each_further_failure_locks_again_until_a_quiet_hour_has_passed() -> None:
    locked = Failures(LOCK_AFTER, T0)
    later = T0 + LOCK_MS  # the lock is over: one more try
    again = after_failure(locked, later)
    assert again.count == LOCK_AFTER + 1 and locked_for_ms(again, later) == LOCK_MS
    quiet = later + FORGET_AFTER_MS
    assert locked_for_ms(again, quiet) == 0
    assert after_failure(again, quiet) == Failures(1, quiet)  # counted from nothing again


def test_no_failures_means_no_lock_and_no_delay() -> None:
    assert locked_for_ms(None, T0) == 0
    assert after_failure(None, T0) == Failures(1, T0)
