"""The collector settings every long-running mecm process applies once it has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mecm import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_objects_alive_at_start_are_left_out_of_later_collections(restored_collector: None) -> None:
    alive_at_start = {"catalog": ["a", "b"]}
    assert any(o is alive_at_start for o in gc.get_objects())
    collector.settle_after_start()
    assert not any(o is alive_at_start for o in gc.get_objects())  # frozen: no collection walks it
    made_after = {"request": ["c"]}
    assert any(o is made_after for o in gc.get_objects())


def test_the_youngest_generation_is_collected_less_often(restored_collector: None) -> None:
    older = gc.get_threshold()[1:]
    collector.settle_after_start()
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *older)
