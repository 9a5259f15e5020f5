"""Printing for the CLI: a rich table for people, one JSON object with ``--json`` for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mecm.errors import ConfigError, InvalidParameter

console = Console()

JsonOption = typer.Option(False, "--json", help="Print one JSON object instead of text.")


def without_password(database_url: str) -> str:
    """A database URL fit to print: its password, if any, shown as ***."""
    from sqlalchemy.engine import make_url  # here, not at the top: the CLI starts without sqlalchemy

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL sqlalchemy cannot read: show none of it
        return "(a database URL that cannot be read)"


def emit(obj: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
    else:
        console.print(text if text is not None else obj)


def emit_table(key: str, rows: Sequence[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps({key: list(rows)}, default=str) + "\n")
        return
    table = Table(title=title)
    columns = list(rows[0]) if rows else []
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) if row[c] is not None else "" for c in columns))
    console.print(table)


@contextmanager
def friendly_errors(as_json: bool) -> Iterator[None]:
    """Bad input: a clear message (or JSON), exit status 2; never a traceback."""
    try:
        yield
    except (InvalidParameter, ConfigError) as error:
        message = error.description if isinstance(error, InvalidParameter) else str(error)
        if as_json:
            sys.stdout.write(json.dumps({"error": message}) + "\n")
        else:
            Console(stderr=True).print(f"[red]error:[/red] {message}")
        raise typer.Exit(2) from None
