"""Searching a workspace's messages (MTs) and MOs, a page at a time or all as CSV: read only, so a
viewer may (``GET /admin/api/workspaces/{id}/messages`` and ``/mos``, ``mecm admin message search``
and ``mecm admin mo search``). The filters are domain/record_search.py's.

Rows are newest first; ids are strings (they pass 2**53, which JSON numbers do not hold exactly in
JavaScript), times ISO 8601 in the workspace's zone. Texts are as the system stores them: a PIN
message's holds its PIN masked, and the PIN is nowhere in a search or an export.

An export reads the rows a page at a time, each page its own short read (``Export.page``), so a large
one neither holds a transaction open nor sits in memory: the API streams each page as it comes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.domain.csv_cells import csv_header, csv_lines
from mecm.domain.dates import format_date
from mecm.domain.record_search import KINDS, NAMES, RecordSearch, parse_search
from mecm.errors import InvalidParameter
from mecm.services.admin.lookups import require_workspace
from mecm.store import record_search as store_search

COLUMNS = {
    "messages": ("id", "created_at", "kind", "sender", "recipient", "carrier", "status", "status_detail",
                 "segments", "text", "updated_at", "mo_id", "broadcast_id"),
    "mos": ("id", "received_at", "sender", "code", "carrier", "keyword", "campaign_id", "campaign_name", "text",
            "response_message_id", "capped"),
}
FILTERS = NAMES  # by kind: the filters' names (the API's query parameters, the CLI's options)
EXPORT_PAGE = 1000
_IDS = ("id", "mo_id", "response_message_id")  # 64-bit ids: strings
_TIMES = {"created_at_ms": "created_at", "updated_at_ms": "updated_at", "received_at_ms": "received_at"}


@dataclass(frozen=True)
class Export:
    """A checked search of one workspace, read a page at a time."""

    workspace_id: int
    search: RecordSearch
    zone: str

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.search.kind]

    def rows(self, connection: Connection, before_id: int | None, limit: int) -> list[dict[str, Any]]:
        found = store_search.search_page(connection, self.workspace_id, self.search, before_id, limit)
        return [_shown(row, self.zone, self.columns) for row in found]

    def header(self) -> str:
        return csv_header(self.columns)

    def page(self, connection: Connection, before_id: int | None) -> CsvPage:
        """The next EXPORT_PAGE rows below ``before_id`` as CSV lines."""
        rows = self.rows(connection, before_id, EXPORT_PAGE)
        after = int(rows[-1]["id"]) if len(rows) == EXPORT_PAGE else None
        return CsvPage(csv_lines(self.columns, rows), len(rows), after)


@dataclass(frozen=True)
class CsvPage:
    lines: str
    rows: int
    after: int | None  # the next page's ``before``; None: this was the last


async def csv_stream(read: Callable[[Callable[[Connection], Any]], Awaitable[Any]], export: Export,
                     first: CsvPage) -> AsyncIterator[str]:
    """The export as CSV text: the header, ``first`` (read when the search was checked), then each
    next page, each its own short read through ``read`` (the admin API and the console stream it)."""
    current = first
    yield export.header()
    while True:
        yield current.lines
        if current.after is None:
            return
        after = current.after
        current = await read(lambda c: export.page(c, after))


def prepare(connection: Connection, workspace_id: int, kind: str, params: Mapping[str, str | None], *,
            export: bool = False) -> Export:
    """The search, checked (an unknown workspace: Unknown; a bad filter: InvalidParameter naming it).
    ``export``: every matching row is wanted, so a ``limit`` is refused rather than ignored."""
    assert kind in KINDS
    zone = require_workspace(connection, workspace_id)
    search = parse_search(kind, params, zone)
    if export and params.get("limit") is not None:
        raise InvalidParameter("limit", "an export holds every matching row: give no limit")
    return Export(workspace_id, search, zone)


def search(connection: Connection, workspace_id: int, kind: str, params: Mapping[str, str | None]) -> dict[str, Any]:
    """One page: ``{kind: rows, "next": the ``before`` of the next page, or None after the last}``."""
    export = prepare(connection, workspace_id, kind, params)
    limit = export.search.limit
    rows = export.rows(connection, export.search.before_id, limit)
    return {kind: rows, "next": rows[-1]["id"] if len(rows) == limit else None}


def with_replies(connection: Connection, workspace_id: int, mos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of MOs (as ``search`` gives them), each with ``reply``: the text of the message that
    answered it (a PIN's masked, as stored), or None."""
    ids = [int(mo["response_message_id"]) for mo in mos if mo.get("response_message_id")]
    texts = store_search.message_texts(connection, workspace_id, ids)
    return [{**mo, "reply": texts.get(int(mo["response_message_id"])) if mo.get("response_message_id") else None}
            for mo in mos]


def _shown(row: dict[str, Any], zone: str, columns: tuple[str, ...]) -> dict[str, Any]:
    shown = dict(row)
    for stored, name in _TIMES.items():
        if stored in shown:
            shown[name] = format_date(shown.pop(stored), zone)
    for name in _IDS:
        if shown.get(name) is not None:
            shown[name] = str(shown[name])
    if "capped" in shown:
        shown["capped"] = bool(shown["capped"])
    return {column: shown.get(column) for column in columns}
