"""A read's budget stops its statement inside the database, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, Engine, text

from mecm.store.budget import ReadBudget, ReadStopped


def endless(connection: Connection) -> str:
    """A statement that would run for minutes."""
    if connection.dialect.name == "sqlite":
        return ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) "
                "SELECT count(*) FROM n")
    return "SELECT pg_sleep(600)"


class SteppingClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_read_within_its_budget_runs(engine: Engine) -> None:
    budget = ReadBudget(5.0)
    with engine.connect() as connection, budget.applied_to(connection):
        assert connection.execute(text("SELECT 42")).scalar_one() == 42


def test_a_read_past_its_budget_is_stopped_in_the_database(engine: Engine) -> None:
    clock = SteppingClock()
    budget = ReadBudget(1.0, clock=clock)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # The progress handler reads the clock: move it past the deadline once the statement runs.
            def advance() -> int:
                clock.now = 2.0
                return 1

            connection.connection.dbapi_connection.create_function("advance", 0, advance)
            statement = ("WITH RECURSIVE n(i) AS (SELECT advance() UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 10000000000) SELECT count(*) FROM n")
        else:
            budget = ReadBudget(0.2)  # PostgreSQL keeps time itself: statement_timeout
            statement = endless(connection)
        with pytest.raises(ReadStopped) as stopped, budget.applied_to(connection):
            connection.execute(text(statement)).scalar_one()
        assert stopped.value.timed_out
        connection.rollback()
        assert connection.execute(text("SELECT 1")).scalar_one() == 1, "the connection is usable again"


def test_stop_ends_a_running_read_from_another_thread(engine: Engine) -> None:
    budget = ReadBudget(600.0)
    started = threading.Event()
    outcome: list[BaseException] = []

    def read() -> None:
        with engine.connect() as connection:
            try:
                with budget.applied_to(connection):
                    started.set()
                    connection.execute(text(endless(connection))).scalar_one()
            except ReadStopped as error:
                outcome.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    assert started.wait(30)
    budget.stop()
    thread.join(60)
    assert not thread.is_alive(), "the read went on after stop()"
    assert len(outcome) == 1 and not outcome[0].timed_out


def test_a_stopped_budget_refuses_to_start(engine: Engine) -> None:
    budget = ReadBudget(600.0)
    budget.stop()
    with engine.connect() as connection, pytest.raises(ReadStopped), budget.applied_to(connection):
        pytest.fail("ran")


def test_a_stop_just_before_the_statement_starts_still_stops_it(engine: Engine) -> None:
    """A client that leaves as its read begins: stop() comes after the budget is applied but before
    the statement reaches the database. On PostgreSQL a cancel request ends only the statement under
    way, so a single one, sent then, was lost and the statement ran on (a search holding a reader
    thread for a minute after its client left)."""
    budget = ReadBudget(600.0)
    with engine.connect() as connection:
        with pytest.raises(ReadStopped) as stopped, budget.applied_to(connection):
            budget.stop()
            connection.execute(text(endless(connection))).scalar_one()
        assert not stopped.value.timed_out

