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

On SQLite and PostgreSQL the statement goes to the DBAPI cursor of the same connection, inside the
same transaction, with positional parameters. Other databases take SQLAlchemy's path with the same
SQL and named parameters.

On PostgreSQL an insert into a table, and a ``Values`` statement that gives its columns'
``pg_types``, send their rows as one array per column, which ``unnest`` reads back: one statement
for any number of rows (measured on 300-row updates: 1.9 us of client CPU and 5 us of server CPU
per row, against 9.3 and 8.8 us for one statement per row in a pipeline). Strings go as text
arrays: a cast to VARCHAR(n) would cut a longer value short, where storing it is refused.

An insert joins nothing, so its plan is kept. A ``Values`` statement is planned at every run, with
the rows' real number and the table's real size: a plan cached while the table was small, or made
from statistics that lag behind a burst (autovacuum analyzes after a minute), could join the rows
to every message of a status instead of looking each one up. For the same reason such a statement
keeps its status condition out of the queue index's reach (``status || ''``), so each row is found
by its key. Without ``pg_types`` the statement runs once per row, in one pipelined round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, String, Table, text

_CHUNK_VARIABLES = 30_000  # below SQLite's default limit of 32,766 bound variables per statement
# The DBAPI's positional placeholder, for the databases whose driver we call directly.
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}


@dataclass(frozen=True, eq=False)  # compared by identity: a module-level constant per statement
class Values:
    """A statement over many rows: ``sql`` holds ``{rows}`` (a subquery of the rows, named by
    ``columns``) or ``{values}`` (their bare VALUES list)."""

    sql: str
    columns: tuple[str, ...]
    pg_types: tuple[str, ...] = ()  # PostgreSQL types of the columns: one array per column


@dataclass(frozen=True)
class Chunk:
    """One statement ready to run: its SQL and its parameters (a flat list for the driver, a dict
    for SQLAlchemy); ``many``: the SQL is for one row, run for each tuple of ``params``;
    ``plan_each_run``: never a prepared statement (PostgreSQL)."""

    sql: str
    params: list[Any] | dict[str, Any]
    many: bool = False
    plan_each_run: bool = False


def executemany(connection: Connection, statement: Values | Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write every row with ``statement`` (a ``Values`` statement, or a table to insert into).

    Returns the number of rows changed.
    """
    return execute(connection, prepare(statement, rows, connection.dialect.name))


def prepare(statement: Values | Table, rows: Sequence[Mapping[str, Any]], dialect: str, *,
            through_driver: bool | None = None) -> list[Chunk]:
    """The statements that write ``rows``, built without a connection: the group-commit writer builds
    them before it takes the database's write lock, so the lock is held for SQL work alone.

    ``through_driver`` (the default on SQLite and PostgreSQL): positional parameters straight to the
    DBAPI cursor. Through SQLAlchemy, a statement of a thousand named parameters is compiled anew
    each time (the worker on PostgreSQL spent most of its time there, make bench's scale-out)."""
    if through_driver is None:
        through_driver = dialect in _PLACEHOLDER
    if not rows:
        return []
    if isinstance(statement, Table):
        columns = tuple(rows[0])
        sql = f"INSERT INTO {statement.name} ({', '.join(columns)}) {{values}}"
        pg_types = _table_pg_types(statement, columns) if dialect == "postgresql" else ()
        plan_each_run = False  # an insert joins nothing: its plan is safe to keep
    else:
        columns, sql, pg_types = statement.columns, statement.sql, statement.pg_types
        plan_each_run = True
    if through_driver and dialect == "postgresql":
        if pg_types:
            return [Chunk(_unnest_sql(sql, columns, pg_types), [[row[c] for row in rows] for c in columns],
                          plan_each_run=plan_each_run)]
        # psycopg parses a statement's placeholders anew each time unless the statement is short,
        # and prepares it only after a few runs of the same text: a multi-row VALUES (its text
        # differs with the row count) cost the worker most of its time. One short statement, run
        # for every row in one pipelined round trip, costs little.
        return [Chunk(_positional_sql(sql, columns, 1, dialect), [tuple(row[c] for c in columns) for row in rows],
                      many=True)]
    per_chunk = max(1, _CHUNK_VARIABLES // len(columns))
    chunks = []
    for start in range(0, len(rows), per_chunk):
        part = rows[start:start + per_chunk]
        if through_driver:
            chunks.append(Chunk(_positional_sql(sql, columns, len(part), dialect),
                                [row[c] for row in part for c in columns]))
        else:
            chunks.append(_named_chunk(sql, columns, part, dialect))
    return chunks


def execute(connection: Connection, chunks: Sequence[Chunk]) -> int:
    """Run prepared chunks in the connection's transaction; the number of rows changed."""
    changed = 0
    for chunk in chunks:
        if isinstance(chunk.params, list):
            changed += _via_driver(connection, chunk)
        else:
            changed += connection.execute(text(chunk.sql), chunk.params).rowcount
    return changed


def _via_driver(connection: Connection, chunk: Chunk) -> int:
    """Positional parameters straight to the DBAPI cursor of the same connection (same transaction)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if chunk.many:
            cursor.executemany(chunk.sql, chunk.params)
        elif chunk.plan_each_run:
            cursor.execute(chunk.sql, chunk.params, prepare=False)
        else:
            cursor.execute(chunk.sql, chunk.params)
        return cursor.rowcount
    finally:
        cursor.close()


def _named_chunk(sql: str, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]], dialect: str) -> Chunk:
    """Any database: the same SQL with named parameters, through SQLAlchemy."""
    names = [[f"v{i}_{c}" for c in columns] for i in range(len(rows))]
    values = "VALUES " + ", ".join("(" + ", ".join(f":{n}" for n in row_names) + ")" for row_names in names)
    params = {n: row[c] for row, row_names in zip(rows, names) for n, c in zip(row_names, columns)}
    fill = _fill if dialect == "sqlite" else _fill_named
    return Chunk(fill(sql, columns, values), params)


@lru_cache(maxsize=64)  # a 1,000-row insert's SQL is ~60 kB: keep a few sizes, not every size
def _positional_sql(sql: str, columns: tuple[str, ...], count: int, dialect: str = "sqlite") -> str:
    one = "(" + ", ".join([_PLACEHOLDER[dialect]] * len(columns)) + ")"
    fill = _fill if dialect == "sqlite" else _fill_named
    return fill(sql, columns, "VALUES " + ", ".join([one] * count))


@lru_cache(maxsize=64)
def _unnest_sql(sql: str, columns: tuple[str, ...], pg_types: tuple[str, ...]) -> str:
    arrays = ", ".join(f"%s::{pg_type}[]" for pg_type in pg_types)
    source = f"SELECT * FROM unnest({arrays}) AS rows ({', '.join(columns)})"
    return sql.format(values=source, rows=f"({source})")


@lru_cache(maxsize=64)
def _table_pg_types(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The arrays' types: the columns' own, but text for strings (see the module's docstring)."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    return tuple("text" if isinstance(table.c[name].type, String) else table.c[name].type.compile(dialect=dialect)
                 for name in columns)


def _fill(sql: str, columns: tuple[str, ...], values: str) -> str:
    # SQLite names a VALUES list's columns column1, column2, ...; PostgreSQL lets the alias name them.
    named = ", ".join(f"column{i} AS {c}" for i, c in enumerate(columns, start=1))
    return sql.format(values=values, rows=f"(SELECT {named} FROM ({values}))")


def _fill_named(sql: str, columns: tuple[str, ...], values: str) -> str:
    return sql.format(values=values, rows=f"(SELECT * FROM ({values}) AS rows ({', '.join(columns)}))")
