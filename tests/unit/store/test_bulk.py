"""Many-row statements: the same rows written, whichever path and however they are chunked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, text

from mecm.store import bulk
from mecm.store.bulk import Values, executemany
from tests.support.databases import new_database_url, on_postgresql

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String), Column("n", Integer))
RENAME = Values(
    """
    UPDATE items SET name = v.name FROM {rows} AS v WHERE items.id = v.id AND items.n > 0
    """,
    ("id", "name"),
)
# The same statement with its columns' PostgreSQL types: there, its rows go as arrays (unnest).
RENAME_AS_ARRAYS = Values(RENAME.sql, RENAME.columns, ("bigint", "text"))
short = Table("short", metadata, Column("id", Integer, primary_key=True), Column("code", String(5)))


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    e = create_engine(new_database_url(tmp_path, migrated=False).replace("postgresql://", "postgresql+psycopg://"))
    metadata.create_all(e)
    yield e
    e.dispose()


def contents(engine: Engine) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT id, name, n FROM items ORDER BY id"))]


@pytest.mark.parametrize("rename", [RENAME, RENAME_AS_ARRAYS], ids=["rows", "arrays"])
@pytest.mark.parametrize("path", ["driver", "sqlalchemy"])
@pytest.mark.parametrize("chunk_variables", [30_000, 7])  # 7 variables: chunks of 2 rows, and a last one of 1
def test_insert_then_update_many_rows(engine: Engine, monkeypatch: pytest.MonkeyPatch, path: str,
                                      chunk_variables: int, rename: Values) -> None:
    monkeypatch.setattr(bulk, "_CHUNK_VARIABLES", chunk_variables)

    def write(c, statement, rows):  # noqa: ANN001, ANN202
        if path == "driver":
            return executemany(c, statement, rows)
        # The path other databases take (named parameters through SQLAlchemy), run here too.
        return bulk.execute(c, bulk.prepare(statement, rows, c.dialect.name, through_driver=False))

    rows = [{"id": i, "name": f"item {i}", "n": i % 3} for i in range(1, 6)]
    with engine.begin() as c:
        assert write(c, items, rows) == 5
        # items with n == 0 (ids 3) are not renamed, and the rowcount says so
        changed = write(c, rename, [{"id": i, "name": f"renamed {i}"} for i in (1, 2, 3, 4, 99)])
    assert changed == 3
    assert contents(engine) == [(1, "renamed 1", 1), (2, "renamed 2", 2), (3, "item 3", 0), (4, "renamed 4", 1),
                                (5, "item 5", 2)]


def test_a_failed_statement_leaves_nothing_of_the_batch(engine: Engine) -> None:
    with pytest.raises(Exception), engine.begin() as c:
        executemany(c, items, [{"id": 1, "name": "a", "n": 1}, {"id": 1, "name": "duplicate", "n": 1}])
    assert contents(engine) == []


@pytest.mark.skipif(not on_postgresql(), reason="SQLite does not enforce a VARCHAR's length")
def test_a_value_longer_than_its_column_is_refused_not_cut_short(engine: Engine) -> None:
    with pytest.raises(Exception, match="too long"), engine.begin() as c:
        executemany(c, short, [{"id": 1, "code": "12345"}, {"id": 2, "code": "123456"}])
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM short")).scalar_one() == 0
