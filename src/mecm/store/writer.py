"""Group commit: many concurrent writes, one transaction and one fsync.

SQLite has one writer at a time. Rather than let every request open its own transaction (and pay one
fsync each), requests hand their write to a single writer thread and await it. The thread takes
everything queued, runs it in one transaction, commits, then wakes all the waiters at once. Under
load a commit carries hundreds of messages; idle, a lone write commits at once (no timer, no delay).

If a grouped transaction fails, the writer rolls it back and replays each write in a transaction of
its own, so one bad write fails alone and the others still commit. A transaction whose connection
was found gone before its COMMIT (PostgreSQL restarted since the last write) committed nothing: it
is run once more on a new connection, rather than failing the first writes after every outage.

A writer may ``gather_s``: after a first write that ``can_wait`` (the delivery worker's claims and
outcome records: no client waits on them) it waits that long for more, so it commits, and takes the
shared write lock, less often. A write that cannot wait (a receipt or an MO an SMSC waits on: its
window of unacknowledged deliver_sm is small) ends the gathering at once.

When other processes write to the same database (``mecm serve``'s delivery worker), each grouped
transaction holds ``lock`` (store/locks.py) from its BEGIN IMMEDIATE to its COMMIT, so writers take
turns without SQLite's sleeping busy handler.

The writer knows whether the database takes writes (``failure``, read by /readyz): a commit that fails
for the database's sake (an ``OperationalError``: disk full, I/O error, read-only, connection lost)
sets it, the next commit that succeeds clears it, and ``probe`` makes such a commit when no other
write comes. On SQLite, after every commit and before anyone is told, the database's path is checked
to still name the file written to (store/database_file.py): if it was deleted or replaced, the
commit's writers get an error, never an acknowledgement.

Consecutive ``Insert`` writes into the same table, and consecutive ``ExecuteMany`` writes of the same
statement object, are merged and written as multi-row statements (store/bulk.py): hundreds of rows
for the price of one statement. Consecutive ``Together`` writes with the same runner go to that
runner as one list (a priced send's debit: one balance update per workspace per batch, store/credit.py),
which prepares what it can before the lock, as merged inserts are.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.exc import DBAPIError, OperationalError

from mecm.errors import ApiError, StoreError
from mecm.store import bulk
from mecm.store.budget import ReadBudget
from mecm.store.bulk import Chunk, Values
from mecm.store.database_file import DatabaseFile
from mecm.store.engine import mark_writer
from mecm.store.locks import FileLock

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Insert:
    """Insert rows into a table; mergeable with neighbouring inserts into the same table."""

    table: Table
    rows: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class ExecuteMany:
    """Write rows with one ``Values`` statement (a module-level constant, compared by identity)."""

    statement: Values
    rows: Sequence[dict[str, Any]]


class Runner:
    """What stores a run of neighbouring ``Together`` writes: ``prepare`` builds, from their items,
    what needs no database (statements' parameters) before the transaction and the write lock, so
    that the lock is held for SQL work, as for merged inserts; ``run`` gets the items in order, in
    the transaction, with what ``prepare`` returned, and returns one result per item."""

    def prepare(self, items: list[Any], dialect: str) -> Any:
        return None

    def run(self, connection: Connection, items: list[Any], prepared: Any) -> list[Any]:
        raise NotImplementedError


class Together(NamedTuple):
    """A write run with its neighbours of the same ``runner`` (compared by identity). A named tuple,
    not a frozen dataclass: one is made per priced send, and a frozen dataclass's construction cost
    the event loop 0.5 us more (bench/guard_cpu.py)."""

    runner: Runner
    item: Any


@dataclass(frozen=True)
class _Run:
    indexes: list[int]
    runner: Runner
    items: list[Any]
    prepared: Any


Write = Insert | ExecuteMany | Together | Callable[[Connection], Any]
# A batch's plan: prepared statements (merged Insert / ExecuteMany writes), a run of Together writes,
# or a callable write with its index in the batch, which receives its result.
Step = list[Chunk] | _Run | tuple[int, Callable[[Connection], Any]]


@dataclass
class _Pending:
    write: Write
    future: asyncio.Future[Any] | None
    loop: asyncio.AbstractEventLoop | None
    can_wait: bool = False


_STOP = object()
READER_THREADS = 4


class _LostBeforeCommit(Exception):
    """The connection was lost while the batch's statements ran: it may be tried again."""


def _connection_lost(connection: Connection, error: Exception) -> bool:
    """Whether ``error`` came of a connection that is gone (then invalidated here, so that its next
    use connects afresh). Merged writes call the driver directly (store/bulk.py), whose errors
    SQLAlchemy never sees: there the driver's connection says whether it is closed."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if connection.invalidated or not getattr(connection.connection.driver_connection, "closed", False):
        return False
    connection.invalidate()
    return True


class GroupCommitWriter:
    def __init__(self, engine: Engine, max_batch: int = 1000, lock: FileLock | None = None,
                 gather_s: float = 0.0, database_file: DatabaseFile | None = None) -> None:
        self._engine = engine
        self._database_file = database_file
        # Why the database does not take writes now (None: the last commit succeeded).
        self.failure: str | None = None
        self._max_batch = max_batch
        self._lock = lock
        self._gather_s = gather_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mecm-writer", daemon=True)
        self._readers = ThreadPoolExecutor(max_workers=READER_THREADS, thread_name_prefix="mecm-reader")
        self._control_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mecm-control-reader")
        self.commits = 0
        self.writes = 0
        self.lock_wait_s = 0.0  # waiting for the shared write lock (other processes' commits)
        self.lock_held_s = 0.0  # from the lock (or BEGIN) to the end of COMMIT
        self._thread.start()

    async def write(self, write: Write, *, can_wait: bool = False) -> Any:
        """Run ``write`` in the next grouped transaction; return once it is committed.

        ``can_wait``: nobody outside waits on it, so it may wait ``gather_s`` for company.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Pending(write, future, loop, can_wait))
        return await future

    async def probe(self) -> None:
        """A write that reaches the disk (the schema revision's row rewritten as it is), committed like
        any other: it fails while writes fail, and its success clears ``failure``."""
        await self.write(_rewrite_revision)

    async def read(self, fn: Callable[[Connection], T], budget: ReadBudget | None = None) -> T:
        """Run a read on a pooled connection in a reader thread (WAL: never waits for the writer).

        With a ``budget``, the read stops (ReadStopped) when the budget runs out or is stopped."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn, budget)

    async def read_control(self, fn: Callable[[Connection], T]) -> T:
        """A read of the catalog (keys, workspaces, carriers) on a thread of its own, so that a key
        revoked, or a catalog refresh, never waits behind clients' reads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._control_reader, self._read, fn, None)

    def _read(self, fn: Callable[[Connection], T], budget: ReadBudget | None) -> T:
        with self._engine.connect() as connection:
            if budget is None:
                return fn(connection)
            with budget.applied_to(connection):
                return fn(connection)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self._readers.shutdown(wait=True)
        self._control_reader.shutdown(wait=True)
        if self._lock is not None:
            self._lock.close()

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        with self._engine.connect() as connection:
            mark_writer(connection)
            try:
                self._loop(connection)
            finally:
                mark_writer(connection, False)  # the pooled connection may serve a reader next

    def _loop(self, connection: Connection) -> None:
        dialect = connection.dialect.name
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = self._gather(batch, time.monotonic() + (self._gather_s if first.can_wait else 0.0))
            plan = self._plan_or_none(batch, dialect)  # before the lock: the lock is for SQL
            asked = time.perf_counter()
            if self._lock is not None:
                self._lock.acquire()
            taken = time.perf_counter()
            try:
                if not stop and self._lock is not None and len(batch) < self._max_batch:
                    # Writes that came while another process held the lock join this commit.
                    extra: list[_Pending] = []
                    stop = self._gather(extra, 0.0, room=self._max_batch - len(batch))
                    extra_plan = self._plan_or_none(extra, dialect, first_index=len(batch))
                    plan = None if plan is None or extra_plan is None else plan + extra_plan
                    batch += extra
                self._commit_batch(connection, batch, plan)
            finally:
                if self._lock is not None:
                    self._lock.release()
                self.lock_wait_s += taken - asked
                self.lock_held_s += time.perf_counter() - taken
            if stop:
                return

    def _gather(self, batch: list[_Pending], deadline: float, room: int | None = None) -> bool:
        """Add queued writes to ``batch`` (at most ``room`` more, else up to the batch limit), waiting
        for more until ``deadline`` (monotonic time); True when the stop sentinel was taken."""
        limit = self._max_batch if room is None else len(batch) + room
        while len(batch) < limit:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
            if not item.can_wait:
                deadline = 0.0  # someone waits on this one: commit what is here now
        return False

    def _plan_or_none(self, batch: list[_Pending], dialect: str, first_index: int = 0) -> list[Step] | None:
        """The batch's plan; None when a write cannot be planned (rows that do not merge): the
        transaction then plans again, inside its failure handling, which isolates the bad write."""
        try:
            return self._plan([p.write for p in batch], dialect, first_index)
        except Exception:  # noqa: BLE001
            return None

    def _commit_batch(self, connection: Connection, batch: list[_Pending], plan: list[Step] | None = None,
                      *, reconnected: bool = False) -> None:
        """One transaction for the batch (the shared write lock, if any, is held by the caller)."""
        try:
            if plan is None:
                plan = self._plan([p.write for p in batch], connection.dialect.name)
            with connection.begin():
                try:
                    results = self._apply(connection, plan, len(batch))
                except Exception as error:
                    if not reconnected and _connection_lost(connection, error):
                        raise _LostBeforeCommit from error
                    raise
        except _LostBeforeCommit:
            # The connection was gone before the COMMIT (the database restarted since the last
            # write): nothing was committed, and the connection is made afresh on its next use. The
            # batch is tried once more on it, rather than failing writes after every outage.
            log.warning("the database connection was lost; writing again on a new one")
            self._commit_batch(connection, batch, plan, reconnected=True)
            return
        except Exception as error:  # noqa: BLE001 - isolate the failing write below
            if isinstance(error, OperationalError):
                self._set_failure(f"{error.orig.__class__.__name__}: {error.orig}")
            if len(batch) == 1:
                self._settle(batch, [None], error=self._wrap(batch[0]))
                return
            for pending in batch:
                self._commit_batch(connection, [pending])
            return
        problem = self._database_file.problem() if self._database_file is not None else None
        self._set_failure(problem)
        if problem is not None:  # committed into a file nobody will open again: not acknowledged
            self._settle(batch, [None] * len(batch), error=StoreError(problem))
            return
        self.commits += 1
        self.writes += len(batch)
        self._settle(batch, results, error=None)

    def _set_failure(self, failure: str | None) -> None:
        if failure != self.failure:
            if failure is not None:
                log.error("the database does not take writes: %s", failure)
            else:
                log.warning("the database takes writes again")
        self.failure = failure

    @staticmethod
    def _wrap(pending: _Pending) -> BaseException:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (StoreError, ApiError)) or not isinstance(exc, Exception):
            # A refusal a write raised on purpose (bad input found in the transaction: nothing
            # written) goes back to its caller as it is, and is not a store failure to log.
            return exc  # type: ignore[return-value]
        log.exception("write failed")
        error = StoreError(f"write failed: {exc.__class__.__name__}: {exc}")
        error.__cause__ = exc
        return error

    @staticmethod
    def _plan(writes: list[Write], dialect: str, first_index: int = 0) -> list[Step]:
        """The batch as steps: merged runs of Insert / ExecuteMany as prepared statements, and each
        callable write with its place in the batch (its result goes back to its caller)."""
        plan: list[Step] = []
        i = 0
        while i < len(writes):
            write = writes[i]
            if isinstance(write, (Insert, ExecuteMany)):
                key = _merge_key(write)
                rows = list(write.rows)
                j = i + 1
                while j < len(writes) and _merge_key(writes[j]) is key:
                    rows.extend(writes[j].rows)  # type: ignore[union-attr]
                    j += 1
                plan.append(bulk.prepare(write.table if isinstance(write, Insert) else write.statement, rows, dialect))
                i = j
            elif isinstance(write, Together):
                j = i + 1
                while j < len(writes) and isinstance(writes[j], Together) and writes[j].runner is write.runner:
                    j += 1
                items = [w.item for w in writes[i:j]]  # type: ignore[union-attr]
                plan.append(_Run([first_index + k for k in range(i, j)], write.runner, items,
                                 write.runner.prepare(items, dialect)))
                i = j
            else:
                plan.append((first_index + i, write))
                i += 1
        return plan

    @staticmethod
    def _apply(connection: Connection, plan: list[Step], count: int) -> list[Any]:
        results: list[Any] = [None] * count
        for step in plan:
            if isinstance(step, list):
                bulk.execute(connection, step)
            elif isinstance(step, _Run):
                for index, result in zip(step.indexes, step.runner.run(connection, step.items, step.prepared),
                                         strict=True):
                    results[index] = result
            else:
                index, write = step
                results[index] = write(connection)
        return results

    @staticmethod
    def _settle(batch: list[_Pending], results: list[Any], error: BaseException | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for pending, result in zip(batch, results):
            if pending.future is not None and pending.loop is not None:
                by_loop.setdefault(pending.loop, []).append((pending.future, result))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items, error)
            except RuntimeError:
                pass  # the loop has closed; the writes are committed (or failed) all the same


_REWRITE_REVISION = text("UPDATE alembic_version SET version_num = version_num")


def _rewrite_revision(connection: Connection) -> None:
    connection.execute(_REWRITE_REVISION)


def _merge_key(write: Write) -> object:
    if isinstance(write, Insert):
        return write.table
    if isinstance(write, ExecuteMany):
        return write.statement
    return None


def _resolve(items: list[tuple[asyncio.Future[Any], Any]], error: BaseException | None) -> None:
    for future, result in items:
        if future.done():
            continue  # the caller went away; what it asked for is committed all the same
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
