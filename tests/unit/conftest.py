"""Fixtures of the unit tests: a migrated database of their own (SQLite, or PostgreSQL: tests/support/databases.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mecm.store import engine as store_engine
from tests.support.databases import new_database_url


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    """mecm's engine on a fresh, migrated database (a test module may override it)."""
    e = store_engine.make_engine(new_database_url(tmp_path), create=True)
    store_engine.upgrade(e, create=True)
    yield e
    e.dispose()
