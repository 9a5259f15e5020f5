"""Fixtures of the unit tests: a migrated SQLite database of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mecm.store import engine as store_engine


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    """mecm's engine on a fresh, migrated SQLite file (a test module may override it)."""
    e = store_engine.make_engine(f"sqlite:///{tmp_path / 'mecm.db'}")
    store_engine.upgrade(e)
    yield e
    e.dispose()
