"""Printing for the CLI: text for people, one JSON object with ``--json`` for programs.

For people: tables that fit the terminal (the columns a table is read for; ``--wide`` shows every
column and cuts none), times in ISO 8601 in the row's workspace's time zone (UTC for a row of no
workspace), yes/no for flags, lists joined with commas, and a sentence or a few aligned lines for a
single result. ``--json`` prints what the command returned, unchanged: scripts depend on its keys.

rich is imported when something is printed, and typer only by the typer commands (``JsonOption``
and ``WideOption`` are made on first use): the fast commands of cli/front.py import this module too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mecm.errors import ConfigError, InvalidParameter

if TYPE_CHECKING:
    from rich.console import Console

JSON_HELP = "Print one JSON object instead of text."
WIDE_HELP = "Show every column, none cut short (the table may be wider than the terminal)."

# The columns a table shows without --wide, by the table's JSON key: what tells the rows apart and
# what one reads the table for. A table not named here shows every column.
NARROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "workspaces": ("instance_id", "name", "timezone", "default_carrier", "created_at_ms", "archived_at_ms"),
    "campaigns": ("id", "workspace_id", "name", "match_mode", "keyword", "codes", "priority", "state", "reply"),
    # carrier list, and carrier status (the running server's view of each carrier)
    "carriers": ("name", "carrier", "connector", "binds", "prefixes", "is_active", "window", "tps now/max", "submits",
                 "throttled", "in_doubt", "reconnects", "created_at_ms"),
    "keys": ("workspace_id", "public_key", "state", "expires_at", "last_used_at"),
    "broadcasts": ("id", "workspace_id", "name", "list_id", "state", "enqueued", "skipped", "scheduled_at_ms"),
    "jobs": ("id", "workspace_id", "kind", "state", "attempts", "target", "last_error"),
    "opt_outs": ("subscriber", "code", "via", "opted_out_at_ms"),
    "messages": ("id", "send_date", "from_", "to", "carrier", "keyword", "text"),
    "messages_search": ("created_at", "recipient", "status", "text", "id"),  # admin message search
    "mos_search": ("received_at", "sender", "campaign_name", "text", "id"),  # admin mo search
    "users": ("id", "email", "deployment_admin", "disabled", "roles"),
    "tokens": ("id", "name", "scope", "expires_at", "usable", "revoked_at"),
    "entries": ("id", "at", "actor", "action", "subject", "change"),  # audit log (--wide: before, after apart)
}
# Columns never cut short: identifiers one copies into the next command.
WHOLE_COLUMNS = frozenset({"id", "instance_id", "workspace_id", "public_key", "code", "codes", "number",
                           "subscriber", "list_id", "message_id", "name", "carrier", "class", "key", "timezone",
                           "from_", "to", "email", "at", "actor"})
# Headers people read, where the JSON key is written for programs.
HEADERS = {"instance_id": "workspace", "workspace_id": "workspace", "is_active": "active",
           "is_default": "default", "match_mode": "match", "default_carrier": "default carrier", "from_": "from"}
_WORKSPACE_KEYS = ("instance_id", "workspace_id", "workspace")
_TIME_SUFFIX = "_at_ms"  # epoch milliseconds, shown as ISO 8601

_time_zones: dict[int, str] = {}


def know_time_zones(zones: Mapping[int, str]) -> None:
    """The time zone of each workspace, for the times printed after this (cli/transaction.py)."""
    _time_zones.update(zones)


_typer_options: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``console``: the standard output console, made on first use (rich loads only when printing).
    ``JsonOption``, ``WideOption``: typer's --json and --wide, made on first use (typer loads only
    for the commands typer runs)."""
    if name == "console":
        return _console()
    if name in ("JsonOption", "WideOption"):
        if name not in _typer_options:
            import typer

            _typer_options["JsonOption"] = typer.Option(False, "--json", help=JSON_HELP)
            _typer_options["WideOption"] = typer.Option(False, "--wide", help=WIDE_HELP)
        return _typer_options[name]
    raise AttributeError(name)


_consoles: dict[str, Console] = {}


def _console(stderr: bool = False) -> Console:
    key = "stderr" if stderr else "stdout"
    if key not in _consoles:
        from rich.console import Console

        _consoles[key] = Console(stderr=stderr)
    return _consoles[key]


def without_password(database_url: str) -> str:
    """A database URL fit to print: its password, if any, shown as ***."""
    from sqlalchemy.engine import make_url  # here, not at the top: the CLI starts without sqlalchemy

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL sqlalchemy cannot read: show none of it
        return "(a database URL that cannot be read)"


# -- values -----------------------------------------------------------------------------------------

def shown_time(epoch_ms: int, zone: str | None) -> str:
    """Epoch milliseconds as ISO 8601 to the second, in ``zone`` (UTC when none or unknown)."""
    try:
        tz = ZoneInfo(zone) if zone else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    return datetime.fromtimestamp(epoch_ms / 1000, tz).isoformat(timespec="seconds")


def header(column: str) -> str:
    if column in HEADERS:
        return HEADERS[column]
    if column.endswith(_TIME_SUFFIX):
        column = column[: -len(_TIME_SUFFIX)]
    return column.replace("_", " ")


def cell(column: str, value: Any, zone: str | None = None) -> str:
    """One value as a person reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column.endswith(_TIME_SUFFIX) and isinstance(value, int):
        return shown_time(value, zone)
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(column, v, zone) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(str(k), v, zone)}" for k, v in value.items())
    return str(value)


def zone_of(row: Mapping[str, Any], workspace: int | None = None) -> str | None:
    """The time zone of the row's workspace (or of ``workspace`` when the row names none)."""
    for key in _WORKSPACE_KEYS:
        if isinstance(row.get(key), int) and not isinstance(row.get(key), bool):
            return row.get("timezone") or _time_zones.get(row[key])
    return _time_zones.get(workspace) if workspace is not None else None


# -- printing ---------------------------------------------------------------------------------------

def emit(obj: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    """One result: ``obj`` as JSON, else ``text`` (or ``obj`` as aligned "name: value" lines)."""
    if as_json:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
    else:
        sys.stdout.write((text if text is not None else fields_text(obj)) + "\n")


def fields_text(obj: Mapping[str, Any], workspace: int | None = None) -> str:
    """A result as one "name: value" line per field, names aligned."""
    if not obj:
        return "(nothing)"
    zone = zone_of(obj, workspace)
    width = max(len(header(k)) for k in obj)
    return "\n".join(f"{header(k):<{width}} : {cell(k, v, zone)}" for k, v in obj.items())


def emit_table(key: str, rows: Sequence[dict[str, Any]], as_json: bool, title: str, *, wide: bool = False,
               workspace: int | None = None) -> None:
    """Rows as ``{key: rows}`` in JSON, or a table for people: the table's narrow columns
    (NARROW_COLUMNS) cut to fit the terminal, or with ``wide`` every column, whole.
    ``workspace``: the workspace of rows that do not name theirs (for their times)."""
    if as_json:
        sys.stdout.write(json.dumps({key: list(rows)}, default=str) + "\n")
        return
    if not rows:
        sys.stdout.write(f"{title}: none\n")
        return
    sys.stdout.write(render_table(key, rows, title, wide=wide, workspace=workspace))


def render_table(key: str, rows: Sequence[dict[str, Any]], title: str, *, wide: bool = False,
                 workspace: int | None = None, width: int | None = None) -> str:
    """The table as text, ``width`` columns wide at most (the terminal's by default) unless ``wide``."""
    from rich.console import Console
    from rich.table import Table

    every = list(rows[0])
    narrow = NARROW_COLUMNS.get(key)
    columns = every if wide or narrow is None else [c for c in narrow if c in every]
    cells = {c: [cell(c, row.get(c), zone_of(row, workspace)) for row in rows] for c in columns}
    natural = {c: max(len(header(c)), *(len(v) for v in cells[c])) for c in columns}
    terminal = width or _console().width
    if wide:
        widths = natural
        terminal = max(terminal, sum(natural.values()) + 3 * len(columns) + 1)
    else:
        widths = fit_columns(columns, natural, terminal)
    hidden = len(every) - len(widths)
    caption = f"{len(rows)} {'row' if len(rows) == 1 else 'rows'}"
    if hidden:
        caption += f"; {hidden} more {'column' if hidden == 1 else 'columns'} with --wide"
    table = Table(title=title, title_justify="left")
    for column, column_width in widths.items():
        table.add_column(header(column), width=column_width, no_wrap=True, overflow="ellipsis")
    for i in range(len(rows)):
        table.add_row(*(cells[c][i] for c in widths))
    console = Console(width=terminal, record=True, file=_Discard(), force_terminal=False, color_system=None,
                      highlight=False)
    console.print(table)
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines()) + caption + "\n"


def kept_whole(column: str) -> bool:
    """Is this a column never cut short (an identifier, or a time)?"""
    return column in WHOLE_COLUMNS or column.endswith((_TIME_SUFFIX, "_at", "_date"))


def fit_columns(columns: Sequence[str], natural: Mapping[str, int], width: int) -> dict[str, int]:
    """Column widths for a table at most ``width`` wide: identifiers and times (``kept_whole``) at
    their full width, the other columns sharing what is left (each at least as wide as its header, at most its
    full width, cut with an ellipsis); columns that still do not fit are left out from the right
    (NARROW_COLUMNS lists them in the order they matter)."""
    shown = list(columns)
    while shown:
        room = width - 3 * len(shown) - 1  # each column's padding and border, and the last border
        cut = [c for c in shown if not kept_whole(c)]
        widths = {c: natural[c] if c not in cut else min(natural[c], max(len(header(c)), 3)) for c in shown}
        if sum(widths.values()) <= room:
            spare = room - sum(widths.values())
            growing = [c for c in cut if widths[c] < natural[c]]
            while spare > 0 and growing:  # one character at a time, in turn, to each cut column
                for c in list(growing):
                    if spare == 0:
                        break
                    widths[c] += 1
                    spare -= 1
                    if widths[c] == natural[c]:
                        growing.remove(c)
            return widths
        shown.pop()  # the columns come in the order they matter: the last one matters least
    return {}


class _Discard:
    """A file that drops what is written: the table is recorded and exported as plain text."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


@contextmanager
def friendly_errors(as_json: bool) -> Iterator[None]:
    """Bad input: a clear message (or JSON), exit status 2; never a traceback. (SystemExit, not
    typer's or click's Exit: this serves the commands of both, cli/front.py.)"""
    try:
        yield
    except (InvalidParameter, ConfigError) as error:
        message = error.description if isinstance(error, InvalidParameter) else str(error)
        if as_json:
            sys.stdout.write(json.dumps({"error": message}) + "\n")
        else:
            print_error(message)
        raise SystemExit(2) from None


def print_error(message: str) -> None:
    """``error: message`` on standard error, the message as written (no markup, no re-wrapping)."""
    from rich.text import Text

    _console(stderr=True).print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


# -- results of the API, as sentences -----------------------------------------------------------------

def message_text(message: Mapping[str, Any]) -> str:
    """An MT (sendSMS, sendMT, getMessage) in a line or two."""
    segments = message.get("segments")
    parts = f"{segments} segment{'s' if segments != 1 else ''}" if segments is not None else ""
    status = message.get("status", "")
    description = message.get("status_description")
    head = f"message {message.get('id')} to {message.get('to')} from {message.get('from_')} via " \
           f"{message.get('carrier') or '(routed)'}: {status}" + (f" ({description})" if description else "")
    details = ", ".join(p for p in (parts, message.get("encoding"), message.get("date")) if p)
    return head + (f"\n  {details}" if details else "") + (f"\n  text: {message['text']}" if message.get("text") else "")


def pin_text(confirmation: Mapping[str, Any]) -> str:
    pin = confirmation.get("pin") or "(not shown: the workspace keeps PINs out of answers)"
    return (f"PIN {pin} sent in message {confirmation.get('message_id')}; "
            f"it can be verified until {confirmation.get('expires_at')}")


def verification_text(verification: Mapping[str, Any]) -> str:
    result = verification.get("result")
    left = verification.get("attempts_left")
    return f"PIN {result}" + (f" ({left} attempt{'s' if left != 1 else ''} left)" if result == "denied" else "")


def mo_text(mo: Mapping[str, Any]) -> str:
    """An MO that fireMessage took: what matched and what was answered."""
    line = f"MO {mo.get('id')} from {mo.get('from_')} to {mo.get('to')}: {mo.get('text')!r}"
    campaign = mo.get("campaign")
    if campaign:
        line += f"\n  matched campaign {campaign!r}" + (f" (keyword {mo['keyword']!r})" if mo.get("keyword") else "")
    else:
        line += "\n  no campaign matched"
    if mo.get("response_message_id"):
        line += f"; reply sent as message {mo['response_message_id']}"
    return line
