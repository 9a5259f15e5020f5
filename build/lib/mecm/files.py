"""The files mecm creates are its owner's alone.

Databases, the master key, the admin token, the demo credentials, lock files, the simulators'
databases and PDU logs are created with mode 0600 and the directories mecm creates for them (the
var dir, a database's directory) with 0700, whatever the umask. SQLite creates a database's ``-wal``
and ``-shm`` files itself, with the database file's own mode, so they are 0600 too.

What was there before (a var dir or a database made by an older mecm, 0755 and 0644) is dealt
with at start: a file of mecm's own that other users may read loses its other-bits, with a warning
(its group bits are left: an operator may give a backup group read access on purpose). A directory
that other users may enter is only warned about, never changed: it may be shared on purpose
(``/srv/mecm`` holding other things, or a var dir of ``.``).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_OTHERS = stat.S_IRWXO
_warned: set[Path] = set()  # one warning per directory and process


def private_dir(path: Path, *, warn: bool = True) -> Path:
    """``path`` as a directory: created 0700 (its missing parents as ``mkdir -p`` makes them) when
    missing; when it exists and other users may enter it, a warning (unless not ``warn``)."""
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        os.chmod(path, PRIVATE_DIR)  # the umask may have taken bits from mkdir's mode; never added any
        return path
    if not warn:
        return path
    mode = path.stat().st_mode
    if mode & _OTHERS and path not in _warned:
        _warned.add(path)
        log.warning("%s can be entered by other users (mode %03o): mecm keeps its database and keys there; "
                    "make it private with: chmod o-rwx %s", path, stat.S_IMODE(mode), path)
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 (and its directory, 0700) if it does not exist; True if
    this call created it. The directory's mode is the var dir's business (``private_dir``)."""
    private_dir(path.parent, warn=False)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def open_private(path: Path, flags: int) -> int:
    """``os.open`` creating the file, if it does, with mode 0600 (the umask may only take bits away)."""
    return os.open(path, flags | os.O_CLOEXEC, PRIVATE_FILE)


def open_private_append(path: Path) -> IO[str]:
    """A text file opened for appending, line-buffered, created 0600 (a log file)."""
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    return os.fdopen(fd, "a", buffering=1, encoding="utf-8")


def keep_from_others(paths: Iterable[Path]) -> None:
    """Remove the other-bits from those of ``paths`` that exist and have them (files made before
    mecm created its files private), saying so."""
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & _OTHERS and path.is_file():
            os.chmod(path, mode & ~_OTHERS)
            log.warning("%s could be read by other users (mode %03o); now %03o", path, mode, mode & ~_OTHERS)


def sqlite_files(database: Path) -> list[Path]:
    """A SQLite database's file and the files SQLite keeps beside it."""
    return [database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
