"""The database a test runs on: SQLite (the default) or PostgreSQL.

``MECM_TEST_DATABASE=postgresql`` runs the tests that use these helpers on PostgreSQL
(``MECM_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1/postgres``, is where test
databases are created). ``make test`` runs the suite on SQLite, then its database tests again on
PostgreSQL. Each test gets a database of its own, copied from a template migrated once per test
process (on PostgreSQL ``CREATE DATABASE ... TEMPLATE``, ~70 ms; on SQLite a copy of the file, a few
ms; migrating takes ~0.5-1 s, and alembic's import as much again in each CLI process). Under
``CI=true`` a PostgreSQL that cannot be reached fails the run; elsewhere its tests are skipped,
saying why.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

BACKEND = os.environ.get("MECM_TEST_DATABASE", "sqlite")
ADMIN_URL = os.environ.get("MECM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
_PREFIX = f"mecm_t{os.getpid()}_"
_template: str | None = None
_sqlite_template: Path | None = None
_created: list[str] = []


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
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
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
    """A fresh database for one test: a file under ``home``, or a new PostgreSQL database
    (migrated to head unless ``migrated`` is False: then on SQLite no file exists yet)."""
    if not on_postgresql():
        path = home / "mecm.db"
        if migrated and not path.exists():  # an existing one (a second server on one home) is kept
            _copy_private(_ensure_sqlite_template(), path)
        return f"sqlite:///{path}"
    template = _ensure_template() if migrated else "template0"
    name = _PREFIX + uuid.uuid4().hex[:12]
    _admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    _created.append(name)
    return _url_of(name)


@atexit.register
def _drop_created() -> None:
    if os.environ.get("MECM_TEST_KEEP_DATABASES"):  # to look at what a failed test left
        return
    for name in reversed(_created):
        try:
            _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - leftovers carry the run's pid in their name
            pass
