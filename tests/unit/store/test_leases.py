"""Leases on PostgreSQL (store/leases.py): node ids, bind slots and singletons, each held by one live
session and free once that session ends. Several "processes" are several Leases objects, each with
its own session, as each mecm process has. A session's end reaches the server a moment after the
client closes it, hence the waits after each close()."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from mecm.store.leases import API_NODES, WORKER_NODES, Leases
from tests.support.databases import on_postgresql
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not on_postgresql(), reason="leases are PostgreSQL's (SQLite: one worker)")


def test_each_process_leases_a_node_id_of_its_own_and_a_dead_ones_is_free_again(engine: Engine) -> None:
    first, second, api = Leases(engine), Leases(engine), Leases(engine)
    try:
        assert first.take_node(WORKER_NODES) == 512
        assert second.take_node(WORKER_NODES) == 513
        assert api.take_node(API_NODES) == 0
        assert not second.holding_node(512)  # alive: its session holds it
        first.close()  # the process is gone
        wait_until(lambda: second.holding_node(512), timeout=30)  # free: taken over, then let go
        second.let_go_node(512)
        third = Leases(engine)
        assert third.take_node(WORKER_NODES) == 512
        third.close()
    finally:
        second.close()
        api.close()


def test_bind_slots_cap_the_connections_to_a_carrier_across_processes(engine: Engine) -> None:
    workers = [Leases(engine) for _ in range(3)]
    try:
        slots = [w.take_bind_slot("movil", 2) for w in workers]
        assert slots == [0, 1, None]  # two binds at most, whoever asks
        assert workers[0].take_bind_slot("movil", 2) == 0  # asking again keeps the same slot
        assert workers[2].take_bind_slot("other", 1) == 0  # another carrier has slots of its own
        workers[1].close()  # a worker dies: its slot is free for the one standing by
        assert wait_until(lambda: workers[2].take_bind_slot("movil", 2), timeout=30) == 1
        workers[0].let_go_bind_slot("movil")
        assert Leases(engine).take_bind_slot("movil", 2) == 0
    finally:
        for w in workers:
            w.close()


def test_a_singleton_runs_in_one_process_at_a_time(engine: Engine) -> None:
    first, second = Leases(engine), Leases(engine)
    try:
        assert first.singleton("broadcaster") and first.singleton("broadcaster")
        assert not second.singleton("broadcaster")
        first.close()
        wait_until(lambda: second.singleton("broadcaster"), timeout=30)
    finally:
        second.close()
