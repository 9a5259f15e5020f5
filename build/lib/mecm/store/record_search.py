"""Searching a workspace's MTs (``messages``) and MOs (``mo_messages``), newest first, one page at a time.

Ids grow with time (domain/ids.py), so newest first is highest id first and a page after another is
``id < its last``: each page reads the primary key backwards from where the last stopped, and a time
range is also a range of ids (with a minute's slack either side, for ids made a little ahead of their
time), so a search of a short while in a long history reads that while only. ``messages`` has no
index by workspace or number on purpose (each index costs every send's insert); the MOs' has one.
A search of MTs by number reads the index of messages by number kept apart from the send path
(store/number_index.py), and the few messages not yet in it.

Only ``text`` is read, never ``sealed_text``: a PIN message's text holds its PIN masked
(docs/security.md), and that is what a search finds and shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from mecm.domain.ids import first_id_at
from mecm.domain.record_search import RecordSearch
from mecm.store import number_index
from mecm.store.tables import messages, mo_messages

_SLACK_MS = 60_000

MESSAGE_COLUMNS = (messages.c.id, messages.c.kind, messages.c.sender, messages.c.recipient, messages.c.carrier,
                   messages.c.status, messages.c.status_detail, messages.c.segments, messages.c.text,
                   messages.c.created_at_ms, messages.c.updated_at_ms, messages.c.mo_id, messages.c.broadcast_id)
MO_COLUMNS = (mo_messages.c.id, mo_messages.c.sender, mo_messages.c.code, mo_messages.c.carrier,
              mo_messages.c.keyword, mo_messages.c.campaign_id, mo_messages.c.campaign_name, mo_messages.c.text,
              mo_messages.c.received_at_ms, mo_messages.c.response_message_id, mo_messages.c.capped)


def search_page(connection: Connection, workspace_id: int, search: RecordSearch,
                before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows matching ``search``, newest first, each with an id below ``before_id``."""
    if search.kind == "messages" and search.number is not None:
        return _messages_to_number(connection, workspace_id, search, before_id, limit)
    table = messages if search.kind == "messages" else mo_messages
    query = _matching(workspace_id, search, before_id).order_by(table.c.id.desc()).limit(limit)
    return [dict(row) for row in connection.execute(query).mappings()]


def _messages_to_number(connection: Connection, workspace_id: int, search: RecordSearch,
                        before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The messages to a number: the newest from the tail not yet indexed by number, read from
    ``messages``, then the rest found through the index (store/number_index.py)."""
    assert search.number is not None
    # Each range of ids is given once, as one bound: given two lower bounds (the time's and the
    # tail's), or a range beside the index's few ids, SQLite reads messages over the wider range.
    mark = number_index.watermark(connection)
    since = 0 if search.since_ms is None else first_id_at(search.since_ms - _SLACK_MS)
    below = min((i for i in (before_id, _until_id(search)) if i is not None), default=None)
    matching = _matching(workspace_id, search, None, id_ranges=False)
    tail = matching.where(messages.c.id >= max(mark, since))
    if below is not None:
        tail = tail.where(messages.c.id < below)
    rows = [dict(row) for row in connection.execute(tail.order_by(messages.c.id.desc()).limit(limit)).mappings()]
    if len(rows) == limit:
        return rows
    indexed = number_index.indexed_ids(search.number, below_id=mark if below is None else min(mark, below),
                                       from_id=since)
    found = matching.where(messages.c.id.in_(indexed)).order_by(messages.c.id.desc()).limit(limit - len(rows))
    return rows + [dict(row) for row in connection.execute(found).mappings()]


def _until_id(search: RecordSearch) -> int | None:
    return None if search.until_ms is None else first_id_at(search.until_ms + _SLACK_MS)


def _matching(workspace_id: int, search: RecordSearch, before_id: int | None, *, id_ranges: bool = True) -> Any:
    """The rows of the workspace matching ``search`` below ``before_id``, as a query to order; with
    ``id_ranges``, a time range is also given as the range of ids it lies in."""
    table = messages if search.kind == "messages" else mo_messages
    columns = MESSAGE_COLUMNS if search.kind == "messages" else MO_COLUMNS
    at = messages.c.created_at_ms if search.kind == "messages" else mo_messages.c.received_at_ms
    query = select(*columns).where(table.c.workspace_id == workspace_id)
    if search.since_ms is not None:
        query = query.where(at >= search.since_ms)
        if id_ranges:
            query = query.where(table.c.id >= first_id_at(search.since_ms - _SLACK_MS))
    if search.until_ms is not None:
        query = query.where(at < search.until_ms)
        if id_ranges:
            query = query.where(table.c.id < _until_id(search))
    if before_id is not None:
        query = query.where(table.c.id < before_id)
    if search.text is not None:
        query = query.where(table.c.text.icontains(search.text, autoescape=True))
    if search.kind == "messages":
        return _message_filters(query, search)
    return _mo_filters(query, search)


def _message_filters(query: Any, search: RecordSearch) -> Any:
    if search.number is not None:
        query = query.where(messages.c.recipient == search.number)
    if search.statuses:
        query = query.where(messages.c.status.in_(search.statuses))
    if search.code is not None:
        query = query.where(messages.c.sender == search.code)
    if search.carrier is not None:
        query = query.where(messages.c.carrier == search.carrier)
    if search.campaign_id is not None:  # the MTs sent in answer to the campaign's MOs
        answered = select(mo_messages.c.id).where(mo_messages.c.campaign_id == search.campaign_id)
        query = query.where(messages.c.mo_id.in_(answered))
    return query


def _mo_filters(query: Any, search: RecordSearch) -> Any:
    if search.number is not None:
        query = query.where(mo_messages.c.sender == search.number)
    if search.code is not None:
        query = query.where(mo_messages.c.code == search.code)
    if search.carrier is not None:
        query = query.where(mo_messages.c.carrier == search.carrier)
    if search.campaign_id is not None:
        query = query.where(mo_messages.c.campaign_id == search.campaign_id)
    return query


def message_texts(connection: Connection, workspace_id: int, ids: list[int]) -> dict[int, str]:
    """The texts of the workspace's messages among ``ids`` (a page's replies): id -> text."""
    if not ids:
        return {}
    query = select(messages.c.id, messages.c.text).where(messages.c.workspace_id == workspace_id,
                                                         messages.c.id.in_(ids))
    return {row.id: row.text for row in connection.execute(query)}
