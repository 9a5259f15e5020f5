"""The database a test runs on: SQLite (the default) or PostgreSQL.

``MECM_TEST_DATABASE=postgresql`` runs the tests that use these helpers on PostgreSQL
(``MECM_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1/postgres``, is where test
databases are created). ``make test`` runs the suite on SQLite, then its database tests again on
PostgreSQL. Each test gets a database of its own, copied from a template migrated once per test
process (on PostgreSQL ``CREATE DATABASE ... TEMPLATE``, ~90 ms; on SQLite a copy of the file, a few
ms; migrating takes ~0.5-1 s, and alembic's import as much again in each CLI process). Under
``CI=true`` a PostgreSQL that cannot be reached fails the run; elsewhere its tests are skipped,
saying why.

On PostgreSQL a test module's databases are emptied once the module is done with them (tests/conftest.py
calls ``recycle``: its module-scoped servers have stopped) and handed to the next tests: a new
database is about a thousand files that each checkpoint must write and sync, and a run made 179 of
them; beside busy loops those syncs held up servers' commits for seconds. A database whose schema a
test changed (a downgrade, a dropped table) is dropped instead. Every database a test process made
is dropped when its session ends (``finish``; an xdist worker never runs atexit handlers, and a run
left all 179 behind).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

BACKEND = os.environ.get("MECM_TEST_DATABASE", "sqlite")
ADMIN_URL = os.environ.get("MECM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
_PREFIX = f"mecm_t{os.getpid()}_"
_template: str | None = None
_sqlite_template: Path | None = None
_created: list[str] = []
_handed_out: list[tuple[str, bool]] = []  # (name, migrated) since the last recycle (PostgreSQL)
_emptied: list[str] = []  # migrated databases emptied by recycle, ready to hand out again
_template_schema: str | None = None  # _SCHEMA_OF's answer for the template


def on_postgresql() -> bool:
    return BACKEND == "postgresql"


# For a module whose tests use no mecm database (a simulator, a connector, pure logic): ``make test``
# runs them in its SQLite run; its PostgreSQL run would only run them a second time, the same.
no_database = pytest.mark.skipif(BACKEND == "postgresql", reason="uses no database: the SQLite run covers it")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


def _url_of(name: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _ensure_template() -> str:
    """A database migrated to head, copied for each test (created once per test run)."""
    global _template
    if _template is None:
        import psycopg

        name = _PREFIX + "template"
        try:
            _admin_execute(f"DROP DATABASE IF EXISTS {name}")
            _admin_execute(f"CREATE DATABASE {name}")
        except psycopg.OperationalError as error:
            message = f"PostgreSQL at {ADMIN_URL} cannot be reached ({error})"
            if _in_ci():
                pytest.fail(f"{message}; under CI=true the PostgreSQL tests must run", pytrace=False)
            pytest.skip(message)
        _created.append(name)
        from mecm.store import engine as store_engine

        engine = store_engine.make_engine(_url_of(name), create=True)
        try:
            store_engine.upgrade(engine, create=True)
        finally:
            engine.dispose()
        _template = name
    return _template


def _ensure_sqlite_template() -> Path:
    """A SQLite file migrated to head, copied for each test (created once per test process)."""
    global _sqlite_template
    if _sqlite_template is None:
        from mecm.store import engine as store_engine

        folder = Path(tempfile.mkdtemp(prefix="mecm-template-"))
        path = folder / "mecm.db"
        engine = store_engine.make_engine(f"sqlite:///{path}", create=True)
        try:
            store_engine.upgrade(engine, create=True)
            with engine.connect() as connection:  # all of it in the file itself, none left in its -wal
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        _sqlite_template = path
    return _sqlite_template


def _copy_private(source: Path, target: Path) -> None:
    """``source`` copied to the new file ``target``, created 0600 (in a 0700 directory) as mecm creates
    its database."""
    from mecm.files import private_dir

    private_dir(target.parent, warn=False)
    with open(source, "rb") as read, os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                                               "wb") as write:
        shutil.copyfileobj(read, write)


def new_database_url(home: Path, *, migrated: bool = True) -> str:
    """A fresh database for one test: a file under ``home``, or a PostgreSQL database (new, or emptied)
    (migrated to head unless ``migrated`` is False: then on SQLite no file exists yet)."""
    if not on_postgresql():
        path = home / "mecm.db"
        if migrated and not path.exists():  # an existing one (a second server on one home) is kept
            _copy_private(_ensure_sqlite_template(), path)
        return f"sqlite:///{path}"
    if migrated and _emptied:
        name = _emptied.pop()
    else:
        template = _ensure_template() if migrated else "template0"
        name = _PREFIX + uuid.uuid4().hex[:12]
        _admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        _created.append(name)
    _handed_out.append((name, migrated))
    return _url_of(name)


# What a database's schema is, as text: its relations (tables, indexes, sequences, views) with their
# columns, constraints, triggers, functions, and the migration it is at (an error if alembic_version
# is gone). Equal to the template's: emptying its tables makes it as new.
_SCHEMA_OF = """
    SELECT string_agg(item, ',' ORDER BY item) FROM (
        SELECT c.relname || ':' || c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public'
        UNION ALL SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT conname || ':' || contype FROM pg_constraint c
          JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
        UNION ALL SELECT tgname FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'
        UNION ALL SELECT 'at ' || version_num FROM alembic_version
    ) AS schema (item)
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"


def _schema(connection: Any) -> str:
    return connection.execute(_SCHEMA_OF).fetchone()[0]


def _empty(name: str) -> bool:
    """Database ``name`` made as the template is (its tables emptied, its sequences restarted), if its
    schema is still the template's; False if not (or if it cannot be emptied)."""
    import psycopg

    global _template_schema
    try:
        if _template_schema is None:
            with psycopg.connect(_url_of(_ensure_template()), autocommit=True, connect_timeout=5) as template:
                _template_schema = _schema(template)
        # A server the module left running would hold its connections and locks: they are ended.
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = %s AND pid <> pg_backend_pid()", [name])
        with psycopg.connect(_url_of(name), autocommit=True, connect_timeout=5) as connection:
            connection.execute("SET lock_timeout = '10s'")
            if _schema(connection) != _template_schema:
                return False
            tables = [row[0] for row in connection.execute(_TABLES)]
            connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        return True
    except psycopg.Error:
        return False


def recycle() -> None:
    """The databases handed out since the last call, emptied for the next tests to use (dropped if
    a test changed their schema). Called when the tests that used them, and their fixtures, are done."""
    if os.environ.get("MECM_TEST_KEEP_DATABASES"):  # to look at what a failed test left: kept as it is
        _handed_out.clear()
        return
    for name, migrated in _handed_out:
        if migrated and _empty(name):
            _emptied.append(name)
        else:
            _drop(name)
    _handed_out.clear()


def _drop(name: str) -> None:
    try:
        _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # noqa: BLE001 - leftovers carry the run's pid in their name
        return
    if name in _created:
        _created.remove(name)


def finish() -> None:
    """Drop every database this process made, and its SQLite template (at the end of its session)."""
    global _template, _template_schema, _sqlite_template
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None
    if os.environ.get("MECM_TEST_KEEP_DATABASES"):  # to look at what a failed test left
        return
    for name in reversed(list(_created)):
        _drop(name)
    _handed_out.clear()
    _emptied.clear()
    _template = _template_schema = None
