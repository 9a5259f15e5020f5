"""Message ids: unique and growing, with the node id inside; none made while the node id is retired."""

from __future__ import annotations

import pytest

from mecm.domain.ids import IdGenerator
from mecm.errors import Unavailable

_NODE_MASK = ((1 << 10) - 1) << 12


def node_of(message_id: int) -> int:
    return (message_id & _NODE_MASK) >> 12


def test_ids_grow_and_carry_the_node() -> None:
    ids = IdGenerator(7)
    made = [ids.next_id() for _ in range(10_000)]  # more than 4096 in a millisecond, surely
    assert made == sorted(set(made))
    assert {node_of(i) for i in made} == {7}


def test_a_retired_generator_makes_no_id_until_it_resumes_with_a_node() -> None:
    ids = IdGenerator(3)
    before = ids.next_id()
    ids.retire("the database session holding this process's node id has ended")
    with pytest.raises(Unavailable) as refused:
        ids.next_id()
    assert refused.value.description == (
        "Service unavailable: the database session holding this process's node id has ended")
    assert refused.value.http_status == 503 and refused.value.status == "ERROR"
    ids.resume(4)
    after = ids.next_id()
    assert after > before and node_of(after) == 4 and ids.node == 4


def test_a_node_id_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        IdGenerator(1024)
    with pytest.raises(ValueError):
        IdGenerator(0).resume(-1)
