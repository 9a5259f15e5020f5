"""The group-commit writer: one transaction for many writes, each caller gets its own result, and
with a shared write lock the writes that come while another process holds it join one commit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from mecm.errors import StoreError
from mecm.store.locks import FileLock, write_lock_path
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter, Insert
from tests.support.databases import on_postgresql
from tests.support.waiting import wait_until_async
from tests.unit.store.test_queue import row


def count_of(status: str):  # noqa: ANN201
    def read(connection: Connection) -> int:
        return connection.execute(text("SELECT COUNT(*) FROM messages WHERE status = :s"), {"s": status}).scalar()
    return read


HOLD_LOCK = """
import sys
from pathlib import Path
from mecm.store.locks import FileLock
lock = FileLock(Path(sys.argv[1])); lock.acquire()
print("held", flush=True); sys.stdin.readline(); lock.release()
"""


class AskedLock(FileLock):
    """The writer's lock, telling when the writer asks for it (it has taken a write to commit)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked = threading.Event()

    def acquire(self, *, blocking: bool = True) -> bool:
        self.asked.set()
        return super().acquire(blocking=blocking)


async def test_writes_queued_behind_another_process_share_one_commit(engine: Engine, tmp_path: Path) -> None:
    # The other process holds the lock until the test tells it to let go (a line on its stdin), so
    # however slowly this machine runs, the writer waits on the lock with its first write taken
    # while the five others queue behind it.
    lock_path = write_lock_path(tmp_path / "mecm.db")
    lock = AskedLock(lock_path)
    writer = GroupCommitWriter(engine, lock=lock)
    other = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert other.stdin is not None and other.stdout is not None
    try:
        assert other.stdout.readline() == b"held\n"
        first = asyncio.ensure_future(writer.write(count_of("PENDING")))
        await wait_until_async(lock.asked.is_set)  # the writer took it and now waits for the lock
        # Inserts mixed with reads-in-the-transaction: each read must see the inserts before it,
        # and hand its own answer to its own caller.
        together = asyncio.gather(
            first,
            writer.write(Insert(messages, [row(1, status="PENDING")])),
            writer.write(count_of("PENDING")),
            writer.write(Insert(messages, [row(2, status="SENDING"), row(3, status="SENDING")])),
            writer.write(count_of("SENDING")),
            writer.write(count_of("PENDING")),
        )
        await asyncio.sleep(0.5)  # the five are queued (their tasks ran first), and the wait is long
        assert not first.done(), "the writer did not wait for the other process's lock"
        other.stdin.write(b"go\n")
        other.stdin.flush()
        results = await together
    finally:
        other.stdin.close()  # the other process lets go and ends, whatever happened here
        writer.close()
        other.wait(30)
    assert results == [0, None, 1, None, 2, 1]
    assert writer.commits == 1  # the writes that queued while the lock was held joined the first
    assert writer.lock_wait_s >= 0.3


async def test_a_failing_write_fails_alone(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)

    def broken(connection: Connection) -> None:
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    try:
        results = await asyncio.gather(
            writer.write(Insert(messages, [row(1, status="PENDING")])),
            writer.write(broken),
            writer.write(count_of("PENDING")),
            return_exceptions=True,
        )
    finally:
        writer.close()
    assert results[0] is None and results[2] == 1
    assert isinstance(results[1], StoreError)


async def test_writes_that_can_wait_are_gathered_into_one_commit(engine: Engine) -> None:
    # The five come within 50 ms; a gathering of 1 s holds them together on a machine that stalls
    # this test's loop for most of a second.
    writer = GroupCommitWriter(engine, gather_s=1.0)
    try:
        async def later(i: int) -> None:
            await asyncio.sleep(0.01 * i)
            await writer.write(Insert(messages, [row(i, status="PENDING")]), can_wait=True)

        await asyncio.gather(*(later(i) for i in range(1, 6)))
    finally:
        writer.close()
    assert writer.writes == 5 and writer.commits == 1


async def test_a_write_someone_waits_on_ends_the_gathering(engine: Engine) -> None:
    # A gathering of a minute: a write that did not end it would wait for its end, twice the bound,
    # which leaves a loaded machine half a minute for a commit.
    writer = GroupCommitWriter(engine, gather_s=60.0)
    try:
        waiting = asyncio.ensure_future(writer.write(Insert(messages, [row(1, status="PENDING")]), can_wait=True))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await writer.write(count_of("PENDING")) == 1  # committed with the gathered one, at once
        assert time.monotonic() - started < 30
        await waiting
    finally:
        writer.close()
    assert writer.commits == 1


def _backend_pid(connection: Connection) -> int:
    return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _end_session(engine: Engine, pid: int) -> None:
    """What a PostgreSQL restart does to the writer's session."""
    with engine.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


@pytest.mark.skipif(not on_postgresql(), reason="a session ended from outside: PostgreSQL")
async def test_the_first_writes_after_the_session_ended_go_through_once(engine: Engine) -> None:
    # A single write after an outage failed (one send answered ERROR although /readyz said ready):
    # the writer's connection was gone. Both kinds of write meet a lost connection here: a merged
    # insert (the driver's cursor, store/bulk.py) and a callable one (SQLAlchemy's execute).
    writer = GroupCommitWriter(engine)

    def insert_through_sqlalchemy(connection: Connection) -> None:
        connection.execute(messages.insert(), [row(3, status="PENDING")])

    try:
        _end_session(engine, await writer.write(_backend_pid))
        await writer.write(Insert(messages, [row(1, status="PENDING")]))
        _end_session(engine, await writer.write(_backend_pid))
        await writer.write(insert_through_sqlalchemy)
        assert await writer.read(count_of("PENDING")) == 2
        assert writer.failure is None
    finally:
        writer.close()
