"""A time budget for one read, enforced inside the database call, and stoppable from outside.

A client's search runs on one of a few reader threads; without a bound, one tenant's slow searches
hold them all (issue 12: four searches held every thread for 153 s). A ``ReadBudget`` gives the read
a deadline and a ``stop()`` that the API calls when the client hangs up. Both act inside the
database, not around it, so the thread is freed instead of abandoned:

- SQLite: a progress handler, called every ``_SQLITE_STEPS`` virtual-machine steps, interrupts the
  statement once the deadline has passed or ``stop()`` was called.
- PostgreSQL: ``statement_timeout`` for the rest of the budget (``SET LOCAL``: this transaction
  only), and ``stop()`` sends the server cancel requests until the read has ended. One is not
  enough: a cancel request ends only the statement running when it arrives, so one that arrives
  just before the statement starts (a read stopped as it begins, seen as a search that ran on for a
  minute after its client left) is lost.

Either way the read raises ``ReadStopped``. The clock is injectable for tests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from mecm.errors import MecmError

_SQLITE_STEPS = 10_000  # a few milliseconds of work between checks
_CANCEL_AGAIN_S = 0.1  # PostgreSQL: how often a stopped read's statement is cancelled until it ends


class ReadStopped(MecmError):
    """The read ran out of its budget (``timed_out``) or was stopped because its client left."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("the read took longer than its budget" if timed_out else "the client went away")
        self.timed_out = timed_out


class ReadBudget:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._deadline = clock() + seconds
        self._stopped = False
        self._lock = threading.Lock()
        self._postgresql: Any = None  # the psycopg connection while a read runs on it
        self._read_ended = threading.Event()

    def remaining_s(self) -> float:
        return max(0.0, self._deadline - self._clock())

    def expired(self) -> bool:
        return self._stopped or self._clock() >= self._deadline

    def stop(self) -> None:
        """The client went away: end the read now (from any thread)."""
        with self._lock:
            self._stopped = True
            reading = self._postgresql is not None
        if reading:
            threading.Thread(target=self._cancel_until_ended, name="mecm-read-cancel", daemon=True).start()

    def _cancel_until_ended(self) -> None:
        """Cancel the statement under way, again every 0.1 s until the read has ended (see above).
        Under the lock, so that no cancel is sent once the connection has gone back to the pool."""
        while True:
            with self._lock:
                if self._postgresql is None:
                    return
                self._postgresql.cancel()
            self._read_ended.wait(_CANCEL_AGAIN_S)

    @contextlib.contextmanager
    def applied_to(self, connection: Connection) -> Iterator[None]:
        """Run the block's statements under this budget; ReadStopped if it runs out."""
        if self.expired():
            raise ReadStopped(timed_out=not self._stopped)
        dbapi = connection.connection.dbapi_connection
        try:
            if connection.dialect.name == "sqlite":
                dbapi.set_progress_handler(lambda: 1 if self.expired() else 0, _SQLITE_STEPS)
                try:
                    yield
                finally:
                    dbapi.set_progress_handler(None, _SQLITE_STEPS)
            else:
                timeout_ms = max(1, int(self.remaining_s() * 1000))
                connection.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
                with self._lock:
                    if self._stopped:  # stopped since the check above, with no read to cancel yet
                        raise ReadStopped(timed_out=False)
                    self._postgresql = dbapi
                    self._read_ended.clear()
                try:
                    yield
                finally:
                    with self._lock:
                        self._postgresql = None
                    self._read_ended.set()
        except OperationalError as error:
            if not _was_interrupted(error):
                raise
            raise ReadStopped(timed_out=not self._stopped) from error


def _was_interrupted(error: OperationalError) -> bool:
    """SQLite's "interrupted" (the progress handler said stop), PostgreSQL's QueryCanceled (the
    statement timeout, or the cancel request of stop())."""
    cause = error.orig
    return cause is not None and (cause.__class__.__name__ == "QueryCanceled" or "interrupted" in str(cause))
