"""An MO, fired through the API or from a carrier: store it, act on STOP / START / HELP, or match a
campaign and carry out its actions.

STOP, START and HELP (domain/optout.py) come before any campaign: the subscriber is opted out of the
workspace or back in, in the transaction that stores the MO, and the answer is sent as a
confirmation, which reaches an opted-out subscriber all the same.

A matched campaign's actions (domain/actions.py) are written in the transaction that stores the MO:
replies and forwards as MTs on the normal sending path, webhooks and e-mails as outbox jobs the
worker delivers (services/outbox.py). Either all of it is kept or none. A reply that cannot be
routed, or whose subscriber cannot receive an MT, is stored with that final status (SPEC section 4)
and the MO is kept all the same. An MO over the campaign's frequency cap is kept, marked capped,
and nothing is done for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from mecm.services.router import route
from mecm.domain import keywords, optout, templates
from mecm.domain.ids import IdGenerator
from mecm.domain.message import FREQUENCY_CAP, MOView
from mecm.domain.phone import normalize_mo_number, normalize_mt_number
from mecm.domain.quiet import release_at
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter
from mecm.services.catalog import Catalog, Workspace
from mecm.services.idempotency import Claim
from mecm.services.notification import Notification
from mecm.services.sending import CONFIRMATION, SendingService, SendRequest
from mecm.store import lists as store_lists
from mecm.store import optouts as store_optouts
from mecm.store.tables import messages, mo_messages, outbox
from mecm.store.writer import GroupCommitWriter


@dataclass(frozen=True)
class InboundMO:
    workspace: Workspace
    subscriber: str  # as given; normalised here
    code: str
    text: str
    carrier: str | None = None  # known when it came from a carrier
    client_id: str = ""  # the public key that fired it, if fired through the API


@dataclass
class _Plan:
    """What storing one MO writes besides the MO."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # replies and forwards, in order
    jobs: list[dict[str, Any]] = field(default_factory=list)  # webhooks and e-mails
    changes: list[Callable[[Connection], Any]] = field(default_factory=list)  # list joins and leaves
    response_id: int | None = None  # the first reply: fireMessage's responseMessageId


class InboundService:
    def __init__(self, writer: GroupCommitWriter, ids: IdGenerator, sending: SendingService) -> None:
        self._writer = writer
        self._ids = ids
        self._sending = sending
        # After an opt-out or opt-in is committed, awaited (the API's view catches up; the worker
        # tells the API); after outbox jobs are queued (the worker's outbox wakes).
        self.opt_outs_changed: Notification[[]] = Notification()
        self.jobs_queued: Notification[[]] = Notification()

    async def receive(self, mo: InboundMO, catalog: Catalog, *, number_param: str = "mobileNumber",
                      also: Callable[[Connection], Any] | None = None,
                      admit: Callable[[], Awaitable[None]] | None = None, claim: Claim | None = None) -> MOView:
        """Store the MO and what it asks for; ``also`` runs in the same transaction (the deletion of
        a multi-part MO's stored parts), and so does taking ``claim``'s Idempotency-Key (with the MO
        row as stored)."""
        subscriber = normalize_mo_number(mo.subscriber, number_param)
        if admit is not None:  # fireMessage's rate limits: after its parameters, before any write
            await admit()
        carrier = mo.carrier if mo.carrier is not None else (route(subscriber, catalog, None) or "")
        decision = optout.classify(mo.text, catalog.optout_policy(mo.workspace.id, mo.code))
        now_ms = int(time.time() * 1000)
        rule = None if decision else keywords.match(mo.text, catalog.campaigns_on(mo.workspace.id, mo.code), now_ms)

        mo_row = {
            "id": self._ids.next_id(),
            "workspace_id": mo.workspace.id,
            "sender": subscriber,
            "code": mo.code,
            "text": mo.text,
            "carrier": carrier,
            "keyword": decision.keyword if decision else (rule.pattern if rule else ""),
            "campaign_id": rule.campaign_id if rule else None,
            "campaign_name": rule.name if rule else "",
            "response_message_id": None,
            "received_at_ms": now_ms,
            "capped": False,
        }
        if decision is not None:
            plan = self._confirmation(mo, subscriber, decision.answer, mo_row, catalog)
        elif rule is not None:
            await self._sending.opt_outs_current("reply")  # a reply is refused to the opted out
            fields = await self._subscriber_fields(rule, mo.workspace.id, subscriber)
            plan = self._campaign_actions(mo, subscriber, rule, mo_row, catalog, fields)
        else:
            plan = _Plan()
        mo_row["response_message_id"] = plan.response_id
        change = _opt_out_change(decision, mo_row) if decision else None
        cap = _cap(rule, mo_row) if rule is not None else None
        changed, capped = await self._writer.write(_store(mo_row, plan, also, change, cap, claim))
        if capped:  # as stored: the MO, marked capped, and nothing it asked for
            mo_row["response_message_id"] = None
            mo_row["capped"] = True
        elif plan.messages:
            self._sending.announce_accepted()
        if plan.jobs and not capped:
            self.jobs_queued.notify()
        if changed:  # awaited: fireMessage and the deliver_sm_resp answer after the view caught up
            await self.opt_outs_changed.notify_awaiting()
        return mo_view_of(mo_row)

    def _confirmation(self, mo: InboundMO, subscriber: str, answer: str, mo_row: dict[str, Any],
                      catalog: Catalog) -> _Plan:
        plan = _Plan()
        if _sendable(answer):
            self._add_message(plan, mo, subscriber, answer, CONFIRMATION, mo_row, catalog)
        return plan

    async def _subscriber_fields(self, rule: keywords.KeywordRule, workspace_id: int,
                                 subscriber: str) -> dict[str, str]:
        """The subscriber's list fields, read only for a campaign whose templates name one."""
        texts = [action.get(key, "") for action in rule.all_actions() for key in ("text", "subject", "body")]
        if not any(templates.uses_fields(text) for text in texts):
            return {}
        member = _as_mt_recipient(subscriber)
        return await self._writer.read(lambda c: store_lists.fields_of(c, workspace_id, member))

    def _campaign_actions(self, mo: InboundMO, subscriber: str, rule: keywords.KeywordRule,
                          mo_row: dict[str, Any], catalog: Catalog, fields: dict[str, str]) -> _Plan:
        plan = _Plan()
        values = {**fields, "from": subscriber, "to": mo.code, "text": mo.text, "keyword": rule.pattern,
                  **keywords.groups(rule, mo.text)}
        for action in rule.all_actions():
            kind = action["type"]
            if kind in ("reply", "forward"):
                body = templates.render(action["text"], values)
                if _sendable(body):
                    to = subscriber if kind == "reply" else action["to"]
                    row = self._add_message(plan, mo, to, body, "reply" if kind == "reply" else "forward",
                                            mo_row, catalog, first_reply=kind == "reply")
                    _hold_for_quiet_hours(row, rule, mo.workspace.timezone)
            elif kind == "webhook":
                plan.jobs.append(_job(mo_row, "webhook", action["url"], _mo_event(mo_row),
                                      reply_code=mo.code, reply_to=subscriber))
            elif kind in ("subscribe", "unsubscribe"):
                plan.changes.append(_membership(kind, action["list_id"], subscriber, mo_row["received_at_ms"]))
            elif kind == "email":
                content = {"subject": templates.render(action["subject"], values),
                           "body": templates.render(action["body"], values)}
                plan.jobs.append(_job(mo_row, "email", action["to"], json.dumps(content)))
        return plan

    def _add_message(self, plan: _Plan, mo: InboundMO, to: str, body: str, kind: str, mo_row: dict[str, Any],
                     catalog: Catalog, *, first_reply: bool = True) -> dict[str, Any]:
        row = self._sending.prepare(
            SendRequest(mo.workspace, mo.client_id, kind, None, mo.code, to, body, mo_id=mo_row["id"]),
            catalog, checked=False,
        )
        plan.messages.append(row)
        if first_reply and plan.response_id is None:
            plan.response_id = row["id"]
        return row


def _mo_event(mo_row: dict[str, Any]) -> str:
    """The JSON a webhook action posts (docs/campaigns.md documents it)."""
    return json.dumps({
        # Ids pass 2**53, past what a JSON number keeps exactly in many languages: a string.
        "event": "mo", "id": str(mo_row["id"]), "instance_id": mo_row["workspace_id"], "from": mo_row["sender"],
        "to": mo_row["code"], "text": mo_row["text"], "keyword": mo_row["keyword"],
        "campaign": mo_row["campaign_name"], "carrier": mo_row["carrier"], "received_at_ms": mo_row["received_at_ms"],
    })


def _job(mo_row: dict[str, Any], kind: str, target: str, payload: str, *, reply_code: str | None = None,
         reply_to: str | None = None) -> dict[str, Any]:
    return {
        "workspace_id": mo_row["workspace_id"], "kind": kind, "target": target, "payload": payload,
        "reply_code": reply_code, "reply_to": reply_to, "mo_id": mo_row["id"], "state": "pending", "attempts": 0,
        "next_attempt_at_ms": mo_row["received_at_ms"], "last_error": None,
        "created_at_ms": mo_row["received_at_ms"], "finished_at_ms": None,
    }


def _membership(kind: str, list_id: int, subscriber: str, now_ms: int) -> Callable[[Connection], Any]:
    member = _as_mt_recipient(subscriber)
    if kind == "subscribe":
        return lambda connection: store_lists.join(connection, list_id, member, via="keyword", now_ms=now_ms)
    return lambda connection: store_lists.leave(connection, list_id, member)


def _sendable(body: str) -> bool:
    try:
        check_text(body)
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


def _hold_for_quiet_hours(row: dict[str, Any], rule: keywords.KeywordRule, timezone: str) -> None:
    """A reply asked for in the campaign's quiet hours waits for their end (validity counted from then)."""
    release = release_at(row["next_attempt_at_ms"], timezone, rule.quiet_hours)
    delay = release - row["next_attempt_at_ms"]
    if delay > 0:
        row["next_attempt_at_ms"] += delay
        row["expires_at_ms"] += delay


def _cap(rule: keywords.KeywordRule, mo_row: dict[str, Any]) -> Callable[[Connection], bool] | None:
    """The frequency cap as a check in the storing transaction: True when this subscriber already
    had ``cap_count`` MOs acted on by the campaign within ``cap_window_s`` (so nothing is done now)."""
    if rule.cap_count <= 0:
        return None
    since = mo_row["received_at_ms"] - rule.cap_window_s * 1000
    params = {"campaign": rule.campaign_id, "sender": mo_row["sender"], "since": since}
    return lambda connection: connection.execute(_ACTED_ON_SINCE, params).scalar_one() >= rule.cap_count


_ACTED_ON_SINCE = text(
    "SELECT COUNT(*) FROM mo_messages WHERE campaign_id = :campaign AND sender = :sender"
    " AND received_at_ms > :since AND NOT capped"
)


def _store(mo_row: dict[str, Any], plan: _Plan, also: Callable[[Connection], Any] | None,
           change: Callable[[Connection], bool] | None,
           capped: Callable[[Connection], bool] | None, claim: Claim | None = None):  # noqa: ANN202
    """The MO and what it asks for, in one transaction: returns (opt-out changed, over the cap)."""
    def write(connection: Connection) -> tuple[bool, bool]:
        if also is not None:
            also(connection)
        over_cap = capped is not None and capped(connection)
        if over_cap:
            capped_row = {**mo_row, "response_message_id": None, "capped": True}
            if claim is not None:
                claim.take(connection, claim.answer(capped_row), mo_row["id"])
            connection.execute(mo_messages.insert(), [capped_row])
            return False, True
        if claim is not None:
            claim.take(connection, claim.answer(mo_row), mo_row["id"])
        connection.execute(mo_messages.insert(), [mo_row])
        if plan.messages:
            connection.execute(messages.insert(), plan.messages)
        if plan.jobs:
            connection.execute(outbox.insert(), plan.jobs)
        for membership in plan.changes:
            membership(connection)
        return (change(connection) if change is not None else False), False

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
        suppressed=FREQUENCY_CAP if get("capped") else "",
    )
