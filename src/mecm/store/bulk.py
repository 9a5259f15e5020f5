"""Many-row writes straight through the SQLite driver.

SQLAlchemy Core processes every parameter set of an executemany in Python, a few microseconds a
row. The queue's hot statements run under grouped commits, hundreds of rows at a time, and that
processing cost more than SQLite's own work (profiled under ``make bench``). On SQLite they go to
the DBAPI cursor of the same connection, inside the same transaction; SQLite takes ``:name``
placeholders natively, so a ``text()`` statement's SQL is used as written and an insert's SQL is
built once per table and column list. Other databases take SQLAlchemy's path unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, TextClause


@lru_cache(maxsize=64)
def _insert_sql(table_name: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    placeholders = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO {table_name} ({names}) VALUES ({placeholders})"


def executemany(connection: Connection, statement: TextClause | Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run ``statement`` (a ``text()`` statement, or a table to insert into) once per row.

    Returns the number of rows changed, summed over all parameter sets.
    """
    if not rows:
        return 0
    if connection.dialect.name != "sqlite":
        target = statement.insert() if isinstance(statement, Table) else statement
        return connection.execute(target, list(rows)).rowcount
    if isinstance(statement, Table):
        sql = _insert_sql(statement.name, tuple(rows[0]))
    else:
        sql = statement.text
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return cursor.rowcount
    finally:
        cursor.close()
