"""Reads through the database driver itself, without SQLAlchemy or alembic: the fast path of the
CLI's quickest commands (``mecm admin workspace list``; cli/front.py says why).

The ordinary way in (cli/state.py ``open_store``) does more than open the database: it refuses a
missing database or master key, saying where it looked; it takes the other-bits from files an older
mecm made readable, and warns of a var dir others may enter; and it migrates a schema behind the
code's. ``read`` does none of that: it reads only when none of it would happen, and otherwise
answers None, and the caller takes the ordinary way, which then says or does what it must. So the
fast path changes how long a command takes, never what it does.

SQLite is read through ``sqlite3``, PostgreSQL through psycopg. psycopg alone takes ~0.2 s of CPU
to import (its libpq binding, asyncio, typing_extensions), so on PostgreSQL the command misses
0.3 s (~0.4 s of CPU, against ~0.9 s the ordinary way, which adds SQLAlchemy to psycopg).

Safety of the schema: the database is read only when its ``alembic_version`` says it is at
``SCHEMA_HEAD``, the latest migration, a constant (reading the migration files, as
engine.head_revision does, costs a few ms more) that a test keeps equal to the migrations' head.
A database at another revision is left to the ordinary way, which migrates it. Should a migration
be added and the constant forgotten (and the test not run), nothing is read either: the newest
migration file, by name, must be SCHEMA_HEAD's (one ``listdir``).
"""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from mecm.config import Settings
from mecm.files import sqlite_files
from mecm.store.database_url import is_postgresql, sqlite_path

# The latest migration's revision: set it with every new migration (tests/unit/store/test_direct.py
# fails until it is).
SCHEMA_HEAD = "0025"
_MIGRATIONS = Path(__file__).parent / "migrations" / "versions"  # named NNNN_what.py, NNNN the revision

Execute = Callable[[str], Iterable[Sequence[Any]]]
T = TypeVar("T")


def read(settings: Settings, reading: Callable[[Execute], T]) -> T | None:
    """``reading`` run in one read transaction (a snapshot) of the database, with a function that
    runs a statement and gives its rows; None, having read nothing, when the ordinary way must be
    taken (the module's docstring says when)."""
    if not _head_is_the_newest_migration() or not _var_dir_and_key_as_left(settings):
        return None
    if is_postgresql(settings.database_url):
        return _read_postgresql(settings.database_url, reading)
    path = sqlite_path(settings.database_url)
    if path is None or not path.is_file() or any(_others_may_read(p) for p in sqlite_files(path)):
        return None  # missing (refused), or readable by others (made private, with a warning)
    try:
        # mode=rw, as store/engine.py: never creates a file (a database deleted just now stays gone).
        connection = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        connection.isolation_level = None  # our BEGIN, not the driver's
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("BEGIN")
        return _at_head(lambda sql: connection.execute(sql).fetchall(), reading)
    except sqlite3.Error:  # no schema, a lock held past the timeout...: the ordinary way says what
        return None
    finally:
        connection.close()  # ends the read transaction


def _read_postgresql(database_url: str, reading: Callable[[Execute], T]) -> T | None:
    import psycopg  # here: ~0.2 s of CPU, for PostgreSQL's users only

    # The URL as libpq reads it (SQLAlchemy's names the driver in its scheme).
    conninfo = "postgresql://" + database_url.split("://", 1)[1]
    try:
        with psycopg.connect(conninfo, connect_timeout=10) as connection:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
            connection.read_only = True
            return _at_head(lambda sql: connection.execute(sql).fetchall(), reading)
    except psycopg.Error:  # cannot connect, no schema...: the ordinary way says what
        return None


def _at_head(execute: Execute, reading: Callable[[Execute], T]) -> T | None:
    if [row[0] for row in execute("SELECT version_num FROM alembic_version")] != [SCHEMA_HEAD]:
        return None  # behind (the ordinary way migrates it) or ahead of this code
    return reading(execute)


def _head_is_the_newest_migration() -> bool:
    names = [name for name in os.listdir(_MIGRATIONS) if name.endswith(".py")]
    return bool(names) and max(names).startswith(f"{SCHEMA_HEAD}_")


def _var_dir_and_key_as_left(settings: Settings) -> bool:
    """Would the ordinary way find the var dir and the master key as they are, creating, changing or
    refusing nothing?"""
    var_dir = settings.var_path
    if not var_dir.is_dir() or _others_may_read(var_dir):
        return False  # created, or warned about
    return _master_key_at_hand(settings)


def _master_key_at_hand(settings: Settings) -> bool:
    """Is there a master key that store/crypto.py ``load_master_key`` would take as it is?"""
    if settings.master_key:
        key = settings.master_key.encode()
    else:
        path = settings.var_path / "master.key"
        try:
            if not path.is_file() or _others_may_read(path):
                return False
            key = path.read_bytes().strip()
        except OSError:  # unreadable: the ordinary way says so
            return False
    try:  # what makes a Fernet key (cryptography's Fernet checks the same)
        return len(base64.urlsafe_b64decode(key)) == 32
    except (binascii.Error, ValueError):
        return False


def _others_may_read(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & stat.S_IRWXO)
    except FileNotFoundError:
        return False
