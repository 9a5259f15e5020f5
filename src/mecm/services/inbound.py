"""An MO, fired through the API or (later) from a carrier: store it, match a campaign, reply.

The MO and its reply MT are written in one transaction: either both are kept or neither. The reply
takes the normal sending path (router, encoding, the delivery queue); when it cannot be routed or the
subscriber's number cannot receive an MT, the reply is stored with that final status (SPEC section 4)
and the MO is kept all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.delivery.router import route
from mecm.domain import keywords
from mecm.domain.ids import IdGenerator
from mecm.domain.message import MOView
from mecm.domain.phone import normalize_mo_number
from mecm.domain.text import check_text
from mecm.services.catalog import Catalog, Workspace
from mecm.services.sending import SendingService, SendRequest
from mecm.store.tables import messages, mo_messages
from mecm.store.writer import GroupCommitWriter


@dataclass(frozen=True)
class InboundMO:
    workspace: Workspace
    subscriber: str  # as given; normalised here
    code: str
    text: str
    carrier: str | None = None  # known when it came from a carrier
    client_id: str = ""  # the public key that fired it, if fired through the API


class InboundService:
    def __init__(self, writer: GroupCommitWriter, ids: IdGenerator, sending: SendingService) -> None:
        self._writer = writer
        self._ids = ids
        self._sending = sending

    async def receive(self, mo: InboundMO, catalog: Catalog, *, number_param: str = "mobileNumber",
                      also: Callable[[Connection], Any] | None = None) -> MOView:
        """Store the MO (and its campaign reply); ``also`` runs in the same transaction (the deletion
        of a multi-part MO's stored parts)."""
        subscriber = normalize_mo_number(mo.subscriber, number_param)
        carrier = mo.carrier if mo.carrier is not None else (route(subscriber, catalog, None) or "")
        rule = keywords.match(mo.text, catalog.rules.get((mo.workspace.id, mo.code), ()))

        mo_id = self._ids.next_id()
        reply_row: dict[str, Any] | None = None
        if rule is not None and rule.reply and _sendable(rule.reply):
            reply_row = self._sending.prepare(
                SendRequest(mo.workspace, mo.client_id, "reply", None, mo.code, subscriber, rule.reply,
                            mo_id=mo_id),
                catalog,
                checked=False,
            )
        mo_row = {
            "id": mo_id,
            "workspace_id": mo.workspace.id,
            "sender": subscriber,
            "code": mo.code,
            "text": mo.text,
            "carrier": carrier,
            "keyword": rule.pattern if rule else "",
            "campaign_id": rule.campaign_id if rule else None,
            "campaign_name": rule.name if rule else "",
            "response_message_id": reply_row["id"] if reply_row else None,
            "received_at_ms": int(time.time() * 1000),
        }
        await self._writer.write(_store(mo_row, reply_row, also))
        if reply_row is not None:
            self._sending._wake()
        return mo_view_of(mo_row)


def _sendable(text: str) -> bool:
    try:
        check_text(text)
    except Exception:  # noqa: BLE001 - a campaign reply the admin let grow too long is not sent
        return False
    return True


def _store(mo_row: dict[str, Any], reply_row: dict[str, Any] | None,
           also: Callable[[Connection], Any] | None):  # noqa: ANN202
    def write(connection: Connection) -> None:
        if also is not None:
            also(connection)
        connection.execute(mo_messages.insert(), [mo_row])
        if reply_row is not None:
            connection.execute(messages.insert(), [reply_row])

    return write


def mo_view_of(row: Any) -> MOView:
    get = row.__getitem__
    return MOView(
        id=get("id"),
        text=get("text"),
        sender=get("sender"),
        code=get("code"),
        keyword=get("keyword"),
        carrier=get("carrier"),
        received_at_ms=get("received_at_ms"),
        campaign_name=get("campaign_name"),
        response_message_id=get("response_message_id"),
    )
