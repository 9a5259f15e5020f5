"""Is the SQLite file a process writes to still the one at the database's path?

A file deleted (or replaced: moved over, restored from a backup) under a running server stays open
in the server, which would go on committing into it and answering OK for messages that no restart
will ever see. So the identity of the file (device and inode) is taken when the database is opened,
and the group-commit writer compares it with the path's after every commit, before anyone is told
the commit succeeded: one ``stat`` per grouped commit, ~2 µs beside a commit's fsync. Checking only
every so many ms would leave a window in which writes into a deleted file were acknowledged.
"""

from __future__ import annotations

import os
from pathlib import Path


class DatabaseFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity = self._identity_of(os.stat(path))

    @staticmethod
    def _identity_of(status: os.stat_result) -> tuple[int, int]:
        return status.st_dev, status.st_ino

    def problem(self) -> str | None:
        """None while the path names the file that was opened; else what happened to it."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return f"database file {self.path} was deleted"
        except OSError as error:
            return f"database file {self.path} cannot be checked: {error.strerror}"
        if self._identity_of(status) != self._identity:
            return f"database file {self.path} was replaced by another file"
        return None
