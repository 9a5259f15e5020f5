"""The API's opt-out view catching up before a send (issue 13's opt-out race), on a real database.

"Another process" here is a second connection writing to the same database, as the delivery
worker or ``mecm admin optout`` would, with its own handle on the signal file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mecm.services.optouts import OptOutView
from mecm.store import engine as store_engine
from mecm.store import optouts
from mecm.store.optout_signal import OptOutSignal, signal_path
from mecm.store.writer import GroupCommitWriter
from tests.support.databases import on_postgresql
from tests.support.waiting import wait_until

SUBSCRIBER = "584141234567"


@pytest.fixture()
def writer(engine: Engine) -> Iterator[GroupCommitWriter]:
    w = GroupCommitWriter(engine)
    yield w
    w.close()


def database_of(engine: Engine) -> Path:
    path = store_engine.sqlite_path(str(engine.url))
    assert path is not None
    return path


def stop_elsewhere(engine: Engine, subscriber: str = SUBSCRIBER) -> None:
    with engine.begin() as c:
        optouts.opt_out(c, 1, subscriber, code="123", via="keyword", now_ms=1)


def start_elsewhere(engine: Engine, subscriber: str = SUBSCRIBER) -> None:
    with engine.begin() as c:
        optouts.opt_in(c, 1, subscriber, code="123", via="keyword", now_ms=2)


@pytest.mark.skipif(on_postgresql(), reason="the signal file is SQLite's")
async def test_on_sqlite_a_change_announced_by_another_process_is_seen_by_the_next_send(
        engine: Engine, writer: GroupCommitWriter) -> None:
    view = OptOutView(OptOutSignal(database_of(engine)))
    other = OptOutSignal(database_of(engine))  # the worker's handle
    await view.refresh(writer)

    stop_elsewhere(engine)
    await view.catch_up(writer)
    # Not announced yet: the send reads no database (the file is unchanged), so it cannot know.
    assert not view.is_opted_out(1, SUBSCRIBER)
    other.announce()
    await view.catch_up(writer)
    assert view.is_opted_out(1, SUBSCRIBER)

    start_elsewhere(engine)
    other.announce()
    await view.catch_up(writer)
    assert not view.is_opted_out(1, SUBSCRIBER)
    assert oct(signal_path(database_of(engine)).stat().st_mode & 0o777) == "0o600"


@pytest.mark.skipif(on_postgresql(), reason="the signal file is SQLite's")
async def test_on_sqlite_a_change_stored_here_is_announced_to_other_processes(
        engine: Engine, writer: GroupCommitWriter) -> None:
    here = OptOutView(OptOutSignal(database_of(engine)))  # the API process that stored the STOP
    there = OptOutView(OptOutSignal(database_of(engine)))  # another API process of this machine
    await here.refresh(writer)
    await there.refresh(writer)
    stop_elsewhere(engine)
    await here.changed_here(writer)
    assert here.is_opted_out(1, SUBSCRIBER)
    await there.catch_up(writer)
    assert there.is_opted_out(1, SUBSCRIBER)


async def test_without_a_signal_every_catch_up_reads_the_changes_committed_before_it(
        engine: Engine, writer: GroupCommitWriter) -> None:
    """PostgreSQL's way (processes on other machines): no file, the database is read."""
    view = OptOutView()
    await view.refresh(writer)
    stop_elsewhere(engine)
    await view.catch_up(writer)
    assert view.is_opted_out(1, SUBSCRIBER)
    start_elsewhere(engine)
    await view.catch_up(writer)
    assert not view.is_opted_out(1, SUBSCRIBER)


async def test_sends_that_come_together_share_a_refresh_and_none_uses_one_begun_before_it(
        engine: Engine, writer: GroupCommitWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    view = OptOutView()
    await view.refresh(writer)
    reads = 0
    first_read_started, release_first_read = threading.Event(), threading.Event()
    events_after = optouts.events_after

    def counted(connection, seq, limit=10_000):  # noqa: ANN001, ANN202
        nonlocal reads
        reads += 1
        if reads == 1:
            first_read_started.set()
            release_first_read.wait(10)
        return events_after(connection, seq, limit)

    monkeypatch.setattr(optouts, "events_after", counted)
    early = asyncio.create_task(view.catch_up(writer))
    await asyncio.to_thread(first_read_started.wait, 10)
    # The first refresh has begun reading; a STOP committed now is not in what it reads.
    stop_elsewhere(engine)
    late = [asyncio.create_task(view.catch_up(writer)) for _ in range(100)]
    await asyncio.sleep(0)
    release_first_read.set()
    await early
    await asyncio.gather(*late)
    assert view.is_opted_out(1, SUBSCRIBER)  # the late ones waited for a refresh begun after them
    assert reads == 2  # 101 sends, two reads


async def test_a_failed_refresh_fails_the_send_rather_than_answer_from_a_stale_view(
        engine: Engine, writer: GroupCommitWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    view = OptOutView()
    await view.refresh(writer)

    def broken(connection, seq, limit=10_000):  # noqa: ANN001, ANN202
        raise RuntimeError("database gone")

    monkeypatch.setattr(optouts, "events_after", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        await view.catch_up(writer)
    monkeypatch.undo()
    stop_elsewhere(engine)
    await view.catch_up(writer)  # the next send tries again
    assert view.is_opted_out(1, SUBSCRIBER)


def sessions_waiting_for_a_lock(engine: Engine) -> int:
    """Read in a transaction of its own: PostgreSQL shows a transaction one snapshot of
    pg_stat_activity, so a poll repeated inside one transaction would never see the wait begin."""
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                              " AND datname = current_database()")).scalar_one()


@pytest.mark.skipif(not on_postgresql(), reason="SQLite has one writer at a time: events are in commit order")
def test_on_postgresql_opt_out_events_become_visible_in_seq_order(engine: Engine) -> None:
    """An event numbered before another but committed after it would be skipped for good by a
    process tailing the events in between: the second transaction waits for the first."""
    first = engine.connect()
    first_tx = first.begin()
    optouts.opt_out(first, 1, SUBSCRIBER, code="123", via="keyword", now_ms=1)  # not committed yet
    second = threading.Thread(target=stop_elsewhere, args=(engine, "584147654321"))
    second.start()
    try:
        wait_until(lambda: sessions_waiting_for_a_lock(engine) == 1)
        with engine.connect() as c:
            assert optouts.events_after(c, 0) == []  # the second waits: nothing to skip
        first_tx.commit()
        second.join(10)
        assert not second.is_alive()
        with engine.connect() as c:
            assert [e[2] for e in optouts.events_after(c, 0)] == [SUBSCRIBER, "584147654321"]
    finally:
        first.close()
        second.join(10)


async def test_catch_up_reads_begin_at_least_the_interval_apart(engine: Engine, writer: GroupCommitWriter) -> None:
    """PostgreSQL's bound on the reads a loaded API makes: the sends that come meanwhile wait and share."""
    view = OptOutView(min_interval_s=0.3)
    await view.refresh(writer)
    began: list[float] = []
    refresh = view.refresh
    loop = asyncio.get_running_loop()

    async def timed(w: GroupCommitWriter) -> None:
        began.append(loop.time())
        await refresh(w)

    view.refresh = timed  # type: ignore[method-assign]
    await view.catch_up(writer)
    stop_elsewhere(engine)
    await asyncio.gather(*(view.catch_up(writer) for _ in range(20)))
    assert view.is_opted_out(1, SUBSCRIBER)
    # asyncio may run a timer up to its clock resolution early
    assert len(began) == 2 and began[1] - began[0] >= 0.3 - 0.01
