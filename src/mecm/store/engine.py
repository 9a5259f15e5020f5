"""Engines and migrations.

SQLite runs in WAL mode so readers never wait for the single writer; ``synchronous`` comes from the
settings (FULL by default: the WAL is fsynced at every commit, and commits are grouped so that costs
one fsync per batch, not per message).

Transactions are begun by us, not by the driver (the pysqlite recipe of SQLAlchemy's documentation):
a reader's ``BEGIN`` is deferred, but a connection marked with ``mark_writer`` begins with ``BEGIN
IMMEDIATE``, taking the write lock before it reads. Two processes write to one database (the API and
its delivery worker); a deferred transaction that read first and then tried to write after the other
process committed would fail with SQLITE_BUSY_SNAPSHOT, which no waiting can cure.

PostgreSQL (``postgresql://...``) goes through psycopg 3, in the same threads and with the same
SQL as SQLite (store/writer.py): every store function is a plain function of a ``Connection``.
Where the two databases need different SQL, the statement says so beside itself.

A database is created only when asked (``create=True``: ``mecm init`` and ``mecm demo``). Every other
start opens an existing SQLite file without the right to create one (``mode=rw``): a database file
deleted under a running server, or before a restart, is refused (``mecm init`` creates it), never
silently replaced by an empty one with all keys gone. Likewise a database without mecm's schema
(no ``alembic_version`` table: an empty PostgreSQL database, an empty file) is refused unless asked;
an existing schema is brought to the latest migration at every start.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect

from mecm.domain.keywords import regex_search
from mecm.errors import ConfigError
from mecm.files import create_private_file, keep_from_others, sqlite_files
from mecm.store.database_url import is_postgresql, sqlite_path  # here too, as callers know them

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)
_WRITER = "mecm_writer"


# Prepared statements kept per SQLite connection (the driver's default is 128). A many-row write's
# text differs with its row count (store/bulk.py), so the cache filled with large statements of
# every size seen: 17 MB of the delivery worker's peak RSS under make bench (138.6 -> 121.6 MB at
# 16, same accepted/s; the simulated carrier's own database, 7 MB more). The statements run over
# and over are far fewer than 16.
SQLITE_STATEMENT_CACHE = 16


def make_engine(database_url: str, synchronous: str = "FULL", pool_size: int = 8, *,
                create: bool = False) -> Engine:
    """An engine on ``database_url``. A SQLite file is created (0600, in a 0700 directory) only with
    ``create``; without it a missing file is a ``ConfigError`` saying to run ``mecm init``."""
    if is_postgresql(database_url):
        return _postgresql_engine(database_url, pool_size)
    path = sqlite_path(database_url)
    if path is None:
        raise ValueError(
            f"database {database_url.split(':', 1)[0]!r} is not supported; use sqlite:///path or postgresql://..."
        )
    if create:
        create_private_file(path)
    elif not path.is_file():
        raise ConfigError(f"database {path} does not exist: create it with `mecm init` (or set database_url / "
                          "MECM_DATABASE_URL to the database you meant)")
    keep_from_others(sqlite_files(path))  # made by a mecm before files were created private
    # mode=rw: SQLite may open the file but never create it, so a connection opened after the file
    # was deleted fails instead of starting an empty database. Absolute, as the working directory
    # may change; quoted, as a URI.
    uri = f"file:{quote(str(path.absolute()))}?mode=rw"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30,
                               cached_statements=SQLITE_STATEMENT_CACHE)

    engine = create_engine(database_url, creator=connect)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the driver: see _begin
        # getMOMessages' keyword filter: linear-time google-re2, never Python's backtracking re.
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.info.get(_WRITER) else "BEGIN")

    return engine


# How long a new PostgreSQL connection may take before it fails (libpq's connect_timeout), unless
# the URL sets its own (``?connect_timeout=N``). libpq's default is to wait for ever: a database
# behind a firewall that drops packets hung ``mecm serve`` at start, and each new connection after.
CONNECT_TIMEOUT_S = 10


def _postgresql_engine(database_url: str, pool_size: int) -> Engine:
    """psycopg 3; a pool sized for the writer threads and the readers of one process."""
    scheme, rest = database_url.split("://", 1)
    if "+" not in scheme:
        database_url = f"postgresql+psycopg://{rest}"
    connect_args = {} if "connect_timeout=" in rest else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         connect_args=connect_args)


def mark_writer(connection: Connection, writer: bool = True) -> None:
    """Transactions on this connection begin with the write lock taken (BEGIN IMMEDIATE, SQLite;
    PostgreSQL locks rows, not the database, and ignores the mark)."""
    if writer:
        connection.info[_WRITER] = True
    else:
        connection.info.pop(_WRITER, None)


def _regexp(pattern: str, value: str | None) -> int:
    return int(value is not None and regex_search(pattern, value))


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def display_url(engine: Engine) -> str:
    """The engine's database URL, for output and logs: never with its password."""
    return engine.url.render_as_string(hide_password=True)


def has_schema(engine: Engine) -> bool:
    """Does the database hold mecm's schema (at any revision)?"""
    with engine.connect() as connection:
        return inspect(connection).has_table("alembic_version")


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def head_revision() -> str | None:
    """The latest migration's id, read from the migration files without importing alembic (which
    takes a CLI command a quarter of a second): the one revision no other revision follows. None
    when the files do not say plainly (then alembic itself decides)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        followed.update(_DOWN_REVISION.findall(text))
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


def schema_revision(engine: Engine) -> list[str]:
    """The revision(s) the database is at, per its ``alembic_version`` table."""
    with engine.connect() as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")]


def upgrade(engine: Engine, *, create: bool = False) -> None:
    """Bring the schema to the latest revision (idempotent; run at every start). A database without
    mecm's schema is a ``ConfigError`` unless ``create`` (``mecm init``). A database already at the
    latest revision is left alone without starting alembic."""
    if not create and not has_schema(engine):
        raise ConfigError(f"database {display_url(engine)} holds no mecm schema: create it with `mecm init` "
                          "(or set database_url / MECM_DATABASE_URL to the database you meant)")
    head = head_revision()
    if head is not None and has_schema(engine):
        before = schema_revision(engine)
        if before == [head]:
            return
    else:
        before = []
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    # alembic's own INFO lines are silenced (logs.py); this one line says what changed.
    log.info("database schema upgraded from %s to %s", ", ".join(before) or "nothing", head or "head")
