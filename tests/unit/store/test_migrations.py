"""The latest Alembic revision creates exactly the tables the code defines (procrastinate's habit)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mecm.store import engine as store_engine
from mecm.store.tables import metadata


def test_migrations_match_table_definitions(tmp_path: Path) -> None:
    engine = store_engine.make_engine(f"sqlite:///{tmp_path / 'm.db'}", create=True)
    store_engine.upgrade(engine, create=True)
    store_engine.upgrade(engine)  # idempotent: a second start changes nothing
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []
