"""A file beside a SQLite database that says "an opt-out or opt-in was stored": the processes of one
machine tell each other without a database read on every send.

Every process that stores an opt-out or opt-in (the API, the delivery worker, ``mecm admin optout``)
writes 8 new random bytes into ``<database>-optouts`` after its commit and before it answers (the
fireMessage, the deliver_sm_resp, the command's output). An API process reads those 8 bytes before
deciding a send (one ``pread``: about a microsecond); when they differ from the bytes it read before
its last refresh of its opt-out view, it refreshes first (services/optouts.py). So a send that
follows the answer to a STOP, from whichever process of this machine, is decided on that STOP.

Random bytes, not a counter: two processes writing at once need no lock, since any change of value
is what matters, and a value never comes back (no ABA). A torn write of two writers at once is still
a new value.
"""

from __future__ import annotations

import os
from pathlib import Path

from mecm.files import open_private

_SIZE = 8


def signal_path(database: Path) -> Path:
    return database.with_name(database.name + "-optouts")


class OptOutSignal:
    """The signal file of one SQLite database, kept open by this process."""

    def __init__(self, database: Path) -> None:
        self.path = signal_path(database)
        self._fd: int | None = open_private(self.path, os.O_RDWR | os.O_CREAT)

    def read(self) -> bytes:
        """The value now: changed since a former read means an opt-out or opt-in was stored since."""
        assert self._fd is not None, "signal closed"
        return os.pread(self._fd, _SIZE, 0)

    def announce(self) -> None:
        """Say that an opt-out or opt-in was just committed (call after the commit)."""
        assert self._fd is not None, "signal closed"
        os.pwrite(self._fd, os.urandom(_SIZE), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def announce(database: Path | None) -> None:
    """One announcement by a process that does not keep the file open (``mecm admin optout``);
    nothing on PostgreSQL (``database`` None), where API processes read the database instead."""
    if database is None:
        return
    signal = OptOutSignal(database)
    try:
        signal.announce()
    finally:
        signal.close()
