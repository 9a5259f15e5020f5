"""One message of a workspace and what is kept about its way: SQL only (services/admin/message_page.py
shapes it for the console)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from mecm.store.tables import broadcasts, credit_accounts, message_parts, messages, mo_messages


def message_row(connection: Connection, workspace_id: int, message_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(messages).where(messages.c.id == message_id,
                                                    messages.c.workspace_id == workspace_id)).mappings().first()
    return None if row is None else dict(row)


def parts_of(connection: Connection, message_id: int) -> list[dict[str, Any]]:
    """The parts a long message was submitted as, each with the carrier's id and its receipt."""
    query = (select(message_parts.c.part_index, message_parts.c.carrier_message_id, message_parts.c.status)
             .where(message_parts.c.message_id == message_id).order_by(message_parts.c.part_index))
    return [dict(row) for row in connection.execute(query).mappings()]


def currency_of(connection: Connection, workspace_id: int) -> str | None:
    return connection.execute(select(credit_accounts.c.currency)
                              .where(credit_accounts.c.workspace_id == workspace_id)).scalar_one_or_none()


def mo_of(connection: Connection, workspace_id: int, mo_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(mo_messages.c.id, mo_messages.c.sender, mo_messages.c.text,
                                    mo_messages.c.campaign_name, mo_messages.c.received_at_ms)
                             .where(mo_messages.c.id == mo_id, mo_messages.c.workspace_id == workspace_id)
                             ).mappings().first()
    return None if row is None else dict(row)


def broadcast_name(connection: Connection, workspace_id: int, broadcast_id: int) -> str | None:
    return connection.execute(select(broadcasts.c.name).where(broadcasts.c.id == broadcast_id,
                                                              broadcasts.c.workspace_id == workspace_id)
                              ).scalar_one_or_none()
