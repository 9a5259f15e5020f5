"""A commit into a SQLite file deleted or replaced under the writer is not acknowledged."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mecm.errors import ConfigError, StoreError
from mecm.store import engine as store_engine
from mecm.store.database_file import DatabaseFile
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter, Insert
from tests.unit.store.test_queue import row


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    e = store_engine.make_engine(f"sqlite:///{tmp_path / 'mecm.db'}", create=True)
    store_engine.upgrade(e, create=True)
    yield e
    e.dispose()


async def test_writes_after_the_file_is_deleted_fail_and_say_why(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mecm.db"
    writer = GroupCommitWriter(engine, database_file=DatabaseFile(path))
    try:
        await writer.write(Insert(messages, [row(1)]))
        assert writer.failure is None
        path.unlink()
        results = await asyncio.gather(*(writer.write(Insert(messages, [row(i)])) for i in range(2, 12)),
                                       return_exceptions=True)
        assert all(isinstance(r, StoreError) and "was deleted" in str(r) for r in results), results
        assert writer.failure == f"database file {path} was deleted"
    finally:
        writer.close()


def test_a_file_put_in_the_place_of_the_database_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "mecm.db"
    path.write_bytes(b"")
    watched = DatabaseFile(path)
    assert watched.problem() is None
    replacement = tmp_path / "other.db"
    replacement.write_bytes(b"")
    os.replace(replacement, path)
    assert watched.problem() == f"database file {path} was replaced by another file"


def test_an_engine_never_creates_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist: create it with `mecm init`"):
        store_engine.make_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    assert list(tmp_path.iterdir()) == []
