"""An MO, fired through the API or from a carrier: store it, act on STOP / START / HELP, or match a
campaign, and reply.

STOP, START and HELP (domain/optout.py) come before any campaign: the subscriber is opted out of the
workspace or back in, in the transaction that stores the MO, and the answer is sent as a
confirmation, which reaches an opted-out subscriber all the same.

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

from sqlalchemy import Connection, text

from mecm.delivery.router import route
from mecm.domain import keywords, optout
from mecm.domain.ids import IdGenerator
from mecm.domain.message import MOView
from mecm.domain.quiet import release_at
from mecm.domain.phone import normalize_mo_number, normalize_mt_number
from mecm.errors import InvalidParameter
from mecm.domain.text import check_text
from mecm.services.catalog import Catalog, Workspace
from mecm.services.sending import CONFIRMATION, SendingService, SendRequest
from mecm.store import optouts as store_optouts
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
        # Called after an opt-out or opt-in is committed (the API's view catches up; the worker
        # tells the API).
        self.on_opt_out_change: list[Callable[[], Any]] = []

    async def receive(self, mo: InboundMO, catalog: Catalog, *, number_param: str = "mobileNumber",
                      also: Callable[[Connection], Any] | None = None) -> MOView:
        """Store the MO (and its campaign reply); ``also`` runs in the same transaction (the deletion
        of a multi-part MO's stored parts)."""
        subscriber = normalize_mo_number(mo.subscriber, number_param)
        carrier = mo.carrier if mo.carrier is not None else (route(subscriber, catalog, None) or "")
        decision = optout.classify(mo.text, catalog.optout_policy(mo.workspace.id, mo.code))
        now_ms = int(time.time() * 1000)
        rule = None if decision else keywords.match(mo.text, catalog.campaigns_on(mo.workspace.id, mo.code), now_ms)

        mo_id = self._ids.next_id()
        reply_row: dict[str, Any] | None = None
        answer, kind = (decision.answer, CONFIRMATION) if decision else (rule.reply if rule else "", "reply")
        if answer and _sendable(answer):
            reply_row = self._sending.prepare(
                SendRequest(mo.workspace, mo.client_id, kind, None, mo.code, subscriber, answer, mo_id=mo_id),
                catalog,
                checked=False,
            )
            if rule is not None:
                _hold_for_quiet_hours(reply_row, rule, mo.workspace.timezone)
        mo_row = {
            "id": mo_id,
            "workspace_id": mo.workspace.id,
            "sender": subscriber,
            "code": mo.code,
            "text": mo.text,
            "carrier": carrier,
            "keyword": decision.keyword if decision else (rule.pattern if rule else ""),
            "campaign_id": rule.campaign_id if rule else None,
            "campaign_name": rule.name if rule else "",
            "response_message_id": reply_row["id"] if reply_row else None,
            "received_at_ms": now_ms,
        }
        change = _opt_out_change(decision, mo_row) if decision else None
        cap = _cap(rule, mo_row) if rule is not None and reply_row is not None else None
        changed, capped = await self._writer.write(_store(mo_row, reply_row, also, change, cap))
        if capped:
            mo_row["response_message_id"] = None
            reply_row = None
        if reply_row is not None:
            self._sending._wake()
        if changed:
            for callback in self.on_opt_out_change:
                callback()
        return mo_view_of(mo_row)


def _sendable(text: str) -> bool:
    try:
        check_text(text)
    except Exception:  # noqa: BLE001 - a campaign reply the admin let grow too long is not sent
        return False
    return True


def _opt_out_change(decision: optout.Decision, mo_row: dict[str, Any]) -> Callable[[Connection], bool] | None:
    """The opt-out or opt-in an MO asks for, as a write; None for HELP (nothing changes)."""
    if decision.intent is optout.Intent.HELP:
        return None
    change = store_optouts.opt_out if decision.intent is optout.Intent.STOP else store_optouts.opt_in
    subscriber = _as_mt_recipient(mo_row["sender"])
    return lambda connection: change(
        connection, mo_row["workspace_id"], subscriber, code=mo_row["code"], via="keyword",
        now_ms=mo_row["received_at_ms"], mo_id=mo_row["id"])


def _as_mt_recipient(sender: str) -> str:
    """The MO sender as an MT to them names them: an opt-out is looked up by the MT's recipient."""
    try:
        return normalize_mt_number(sender)
    except InvalidParameter:
        return sender  # not a number an MT can go to: nothing will be sent to it anyway


def _hold_for_quiet_hours(reply_row: dict[str, Any], rule: keywords.KeywordRule, timezone: str) -> None:
    """A reply asked for in the campaign's quiet hours waits for their end (validity counted from then)."""
    release = release_at(reply_row["next_attempt_at_ms"], timezone, rule.quiet_hours)
    delay = release - reply_row["next_attempt_at_ms"]
    if delay > 0:
        reply_row["next_attempt_at_ms"] += delay
        reply_row["expires_at_ms"] += delay


def _cap(rule: keywords.KeywordRule, mo_row: dict[str, Any]) -> Callable[[Connection], bool] | None:
    """The frequency cap as a check in the storing transaction: True when this subscriber already had
    ``cap_count`` replies from the campaign within ``cap_window_s`` (so no reply now)."""
    if rule.cap_count <= 0:
        return None
    since = mo_row["received_at_ms"] - rule.cap_window_s * 1000
    params = {"campaign": rule.campaign_id, "sender": mo_row["sender"], "since": since}
    return lambda connection: connection.execute(_REPLIES_SINCE, params).scalar_one() >= rule.cap_count


_REPLIES_SINCE = text(
    "SELECT COUNT(*) FROM mo_messages WHERE campaign_id = :campaign AND sender = :sender"
    " AND received_at_ms > :since AND response_message_id IS NOT NULL"
)


def _store(mo_row: dict[str, Any], reply_row: dict[str, Any] | None, also: Callable[[Connection], Any] | None,
           change: Callable[[Connection], bool] | None,
           capped: Callable[[Connection], bool] | None):  # noqa: ANN202
    """The MO, its reply, its opt-out change, in one transaction: (opt-out changed, reply capped)."""
    def write(connection: Connection) -> tuple[bool, bool]:
        if also is not None:
            also(connection)
        over_cap = capped is not None and capped(connection)
        row = {**mo_row, "response_message_id": None} if over_cap else mo_row
        connection.execute(mo_messages.insert(), [row])
        if reply_row is not None and not over_cap:
            connection.execute(messages.insert(), [reply_row])
        return (change(connection) if change is not None else False), over_cap

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
