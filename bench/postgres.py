"""PostgreSQL for the bench: a database per scenario run, on the server ``BENCH_POSTGRES_URL`` names
(default ``postgresql://postgres@127.0.0.1/postgres``, the machine's local server)."""

from __future__ import annotations

import os

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


def url_of(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def fresh_database(name: str) -> str:
    """An empty database ``name`` (dropped first if a previous run left it); its URL."""
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(f"CREATE DATABASE {name}")
    return url_of(name)


def drop_database(name: str) -> None:
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
