"""Reading back: one MT by id (getMessage), MOs by search string (getMOMessages)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select

from mecm.domain.message import MessageView, MOView
from mecm.domain.search import MOSearch
from mecm.services.inbound import mo_view_of
from mecm.store.tables import messages, mo_messages


@dataclass(frozen=True)
class MOPage:
    records: int
    page: int
    results_per_page: int
    messages: list[MOView]


def get_message(connection: Connection, workspace_id: int, message_id: int) -> MessageView | None:
    row = connection.execute(
        select(messages).where(messages.c.id == message_id, messages.c.workspace_id == workspace_id)
    ).mappings().first()
    if row is None:
        return None
    return MessageView(
        id=row["id"],
        carrier=row["carrier"],
        sender=row["sender"],
        recipient=row["recipient"],
        text=row["text"],
        status=row["status"],
        created_at_ms=row["created_at_ms"],
        client_id=row["client_id"],
        segments=row["segments"],
        data_coding=row["data_coding"],
        flags=row["flags"],
        detail=row["status_detail"],
    )


def search_mo(
    connection: Connection, workspace_id: int, search: MOSearch, page: int, results_per_page: int
) -> MOPage:
    conditions = [mo_messages.c.workspace_id == workspace_id]
    if search.from_numbers:
        conditions.append(mo_messages.c.sender.in_(search.from_numbers))
    if search.to_codes:
        conditions.append(mo_messages.c.code.in_(search.to_codes))
    if search.carriers:
        conditions.append(func.lower(mo_messages.c.carrier).in_(search.carriers))
    if search.keywords:
        # Case-insensitive. SQLite: REGEXP is google-re2, registered on every connection (store.engine).
        # PostgreSQL: its own regular expressions (~*), which read the same for what keywords use.
        flags = "i" if connection.dialect.name == "postgresql" else None
        conditions.append(or_(*(mo_messages.c.text.regexp_match(k, flags) for k in search.keywords)))
    if search.since_ms is not None:
        conditions.append(mo_messages.c.received_at_ms >= search.since_ms)
    if search.until_ms is not None:
        conditions.append(mo_messages.c.received_at_ms <= search.until_ms)
    where = and_(*conditions)
    # SPEC section 6: no pattern may stall the server. PostgreSQL's regular expressions are not
    # linear-time like google-re2; the caller's read budget (store/budget.py) bounds every search.

    # By arrival time (SPEC section 6), then id (ids grow with time): the order both MO indexes keep,
    # (workspace, arrival) and (workspace, sender, arrival), so a page is read from an index in
    # order, not sorted out of every match (make bench's mo-search scenario: 10 million MOs).
    if search.order == "asc":
        order = (mo_messages.c.received_at_ms.asc(), mo_messages.c.id.asc())
    else:
        order = (mo_messages.c.received_at_ms.desc(), mo_messages.c.id.desc())
    records = connection.execute(select(func.count()).select_from(mo_messages).where(where)).scalar_one()
    rows = connection.execute(
        select(mo_messages).where(where).order_by(*order)
        .limit(results_per_page).offset((page - 1) * results_per_page)
    ).mappings().all()
    return MOPage(records, page, results_per_page, [mo_view_of(r) for r in rows])
