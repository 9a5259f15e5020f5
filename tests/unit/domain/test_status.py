from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.status import DESCRIPTIONS, FINAL, Status, can_advance, is_final, rank

TRANSIENT = [Status.PENDING, Status.SENDING, Status.SENT_TO_CARRIER]


def test_values_equal_names_and_compare_as_strings() -> None:
    for s in Status:
        assert s.value == s.name
        assert s == s.name
        assert str(s) == s.name
        assert f"{s}" == s.name
    assert len(Status) == 12


def test_every_status_has_a_description() -> None:
    assert set(DESCRIPTIONS) == set(Status)
    assert DESCRIPTIONS[Status.PENDING] == "Queued for delivery"
    assert DESCRIPTIONS[Status.SENT_TO_CARRIER] == "Sent to Carrier"
    assert DESCRIPTIONS[Status.BAD_FROM] == "Invalid from"
    assert DESCRIPTIONS[Status.BAD_TO] == "Invalid to"
    assert DESCRIPTIONS[Status.BAD_CARRIER] == "Invalid carrier"
    assert DESCRIPTIONS[Status.NOT_ENOUGH_FUNDS] == "Not enough funds"


def test_final_set() -> None:
    assert FINAL == set(Status) - set(TRANSIENT)
    assert all(is_final(s) for s in FINAL)
    assert not any(is_final(s) for s in TRANSIENT)


def test_ranks() -> None:
    assert [rank(s) for s in TRANSIENT] == [0, 1, 2]
    assert {rank(s) for s in FINAL} == {3}
    assert rank("SENDING") == 1  # plain strings work too


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (Status.PENDING, Status.SENDING, True),
        (Status.PENDING, Status.DELIVERED_TO_DEVICE, True),
        (Status.SENDING, Status.SENT_TO_CARRIER, True),
        (Status.SENT_TO_CARRIER, Status.UNDELIVERED, True),
        (Status.SENT_TO_CARRIER, Status.SENDING, False),
        (Status.SENDING, Status.PENDING, False),
        (Status.PENDING, Status.PENDING, False),
        (Status.DELIVERED_TO_DEVICE, Status.DELIVERED_TO_DEVICE, False),
        (Status.DELIVERED_TO_DEVICE, Status.UNDELIVERED, False),
        (Status.EXPIRED, Status.DELIVERED_TO_DEVICE, False),
        (Status.BAD_CARRIER, Status.PENDING, False),
    ],
)
def test_can_advance(current: Status, new: Status, expected: bool) -> None:
    assert can_advance(current, new) is expected


@given(st.sampled_from(list(Status)), st.sampled_from(list(Status)))
def test_can_advance_is_strictly_forward_and_final_is_sticky(a: Status, b: Status) -> None:
    result = can_advance(a, b)
    assert result == (not is_final(a) and rank(b) > rank(a))
    if result:
        assert not can_advance(b, a)
