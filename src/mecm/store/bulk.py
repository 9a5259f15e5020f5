"""Many-row writes as few statements as possible.

The queue's hot writes (insert a message, record its carrier id, apply its receipt) run under
grouped commits, tens to hundreds of rows at a time. Run row by row, they paid twice:
SQLAlchemy's per-row parameter processing, and, worse, a GIL hand-off per row: the SQLite driver
releases the GIL around every statement step, and the writer thread then waits for the busy event
loop to give it back (up to the interpreter's switch interval, 5 ms). A commit of 30 rows took
7 ms, and requests waited for it (profiled under ``make bench``).

So a many-row write is one statement per chunk of rows: an insert with a multi-row ``VALUES``, and
any other statement written as a ``Values`` statement, whose SQL reads its rows from ``{rows}``, a
subquery of the rows with the statement's column names, or takes ``{values}``, the bare list::

    UPDATE messages SET carrier_message_id = v.ref FROM {rows} AS v WHERE messages.id = v.id

(The statement must begin with INSERT, UPDATE or DELETE: Python's sqlite3 reports the rows changed
only for statements that begin so, and callers rely on that count.)

On SQLite the statement goes to the DBAPI cursor of the same connection, inside the same
transaction. Other databases take SQLAlchemy's path with the same SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, text

_CHUNK_VARIABLES = 30_000  # below SQLite's default limit of 32,766 bound variables per statement


@dataclass(frozen=True, eq=False)  # compared by identity: a module-level constant per statement
class Values:
    """A statement over many rows: ``sql`` holds ``{rows}`` (a subquery of the rows, named by
    ``columns``) or ``{values}`` (their bare VALUES list)."""

    sql: str
    columns: tuple[str, ...]


def executemany(connection: Connection, statement: Values | Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write every row with ``statement`` (a ``Values`` statement, or a table to insert into).

    Returns the number of rows changed.
    """
    if not rows:
        return 0
    if isinstance(statement, Table):
        columns = tuple(rows[0])
        sql = f"INSERT INTO {statement.name} ({', '.join(columns)}) {{values}}"
    else:
        columns, sql = statement.columns, statement.sql
    per_chunk = max(1, _CHUNK_VARIABLES // len(columns))
    changed = 0
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start:start + per_chunk]
        changed += _execute_chunk(connection, sql, columns, chunk)
    return changed


def _execute_chunk(connection: Connection, sql: str, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> int:
    if connection.dialect.name == "sqlite":
        return _via_driver(connection, sql, columns, rows)
    return _via_sqlalchemy(connection, sql, columns, rows)


def _via_driver(connection: Connection, sql: str, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> int:
    """SQLite: positional parameters straight to the DBAPI cursor of the same connection."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_positional_sql(sql, columns, len(rows)), [row[c] for row in rows for c in columns])
        return cursor.rowcount
    finally:
        cursor.close()


def _via_sqlalchemy(connection: Connection, sql: str, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> int:
    """Any database: the same SQL with named parameters, through SQLAlchemy."""
    names = [[f"v{i}_{c}" for c in columns] for i in range(len(rows))]
    values = "VALUES " + ", ".join("(" + ", ".join(f":{n}" for n in row_names) + ")" for row_names in names)
    params = {n: row[c] for row, row_names in zip(rows, names) for n, c in zip(row_names, columns)}
    return connection.execute(text(_fill(sql, columns, values)), params).rowcount


@lru_cache(maxsize=64)  # a 1,000-row insert's SQL is ~60 kB: keep a few sizes, not every size
def _positional_sql(sql: str, columns: tuple[str, ...], count: int) -> str:
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    return _fill(sql, columns, "VALUES " + ", ".join([one] * count))


def _fill(sql: str, columns: tuple[str, ...], values: str) -> str:
    # A VALUES list's columns are column1, column2, ... on SQLite and PostgreSQL alike.
    named = ", ".join(f"column{i} AS {c}" for i, c in enumerate(columns, start=1))
    return sql.format(values=values, rows=f"(SELECT {named} FROM ({values}))")
