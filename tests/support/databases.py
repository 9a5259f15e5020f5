"""The database a test runs on: SQLite (the default) or PostgreSQL.

``MECM_TEST_DATABASE=postgresql`` runs the tests that use these helpers on PostgreSQL
(``MECM_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1/postgres``, is where test
databases are created). ``make test`` runs the suite on SQLite, then its database tests again on
PostgreSQL. Each test gets a database of its own, copied from a template migrated once per run
(a copy takes ~70 ms; migrating takes ~1 s). Under ``CI=true`` a PostgreSQL that cannot be reached
fails the run; elsewhere its tests are skipped, saying why.
"""

from __future__ import annotations

import atexit
import os
import uuid
from pathlib import Path

import pytest

BACKEND = os.environ.get("MECM_TEST_DATABASE", "sqlite")
ADMIN_URL = os.environ.get("MECM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
_PREFIX = f"mecm_t{os.getpid()}_"
_template: str | None = None
_created: list[str] = []


def on_postgresql() -> bool:
    return BACKEND == "postgresql"


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


def new_database_url(home: Path, *, migrated: bool = True) -> str:
    """A fresh database for one test: a file under ``home``, or a new PostgreSQL database
    (migrated to head unless ``migrated`` is False)."""
    if not on_postgresql():
        return f"sqlite:///{home / 'mecm.db'}"
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
