"""Accepting an MT: validate, route, encode, and store it PENDING with one grouped commit.

The answer goes back only after the row is committed (DESIGN principle 1). Every check runs before
anything is written, so a refused send leaves no row.

A PIN message is stored with the PIN masked in ``text`` ("Your code is ******": what getMessage and
reports show) and its real text sealed under the master key in ``sealed_text``, which only the
dispatcher opens, right before the submit (delivery/dispatcher.py). No column holds the PIN in clear.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.services.router import route
from mecm.domain import pin as pin_policy
from mecm.domain.flags import Flags
from mecm.domain.ids import IdGenerator
from mecm.domain.message import MessageView, PinView
from mecm.domain.phone import normalize_mt_number
from mecm.domain.status import OPTED_OUT, Status
from mecm.domain.text import check_text
from mecm.errors import ApiError, InvalidParameter
from mecm.services.catalog import Catalog, Workspace
from mecm.services.charging import charged, price_of, store_charged
from mecm.services.idempotency import Claim
from mecm.services.notification import Notification
from mecm.services.optouts import OptOutView
from mecm.store.tables import messages, pins
from mecm.store.writer import GroupCommitWriter, Insert

_PRIORITY = {"high": 0, "normal": 1, "low": 2}
# The kind of the answers to STOP, START and HELP: sent to an opted-out subscriber all the same.
CONFIRMATION = "confirm"

# The limits (api/limits.py), run once a send is prepared (its parameters valid) and before anything
# is written (SPEC section 4's order). It raises a refusal, or returns a check to run in the
# transaction that stores the message: that check returns a refusal, and then nothing is stored.
InTransaction = Callable[[Connection], ApiError | None]
Admit = Callable[[dict[str, Any]], Awaitable[InTransaction | None]]


@dataclass(frozen=True)
class SendRequest:
    workspace: Workspace
    client_id: str
    kind: str  # sms | mt | pin | reply | confirm
    carrier: str | None  # None: let the router choose
    sender: str
    recipient: str  # as given; normalised here
    text: str
    flags: Flags = Flags()
    mo_id: int | None = None
    claim: Claim | None = None  # an Idempotency-Key, taken in the transaction that stores the message


class SendingService:
    def __init__(self, settings: Settings, writer: GroupCommitWriter, ids: IdGenerator, pin_key: bytes,
                 opt_outs: OptOutView | None = None, *, seal: Callable[[str], str]) -> None:
        """``seal``: encrypts a PIN message's real text (the master key's Vault.encrypt)."""
        self._settings = settings
        self._seal = seal
        self._opt_outs = opt_outs  # None where no one is answered (a worker): the dispatcher still guards
        self._writer = writer
        self._ids = ids
        self._pin_key = pin_key
        self.accepted: Notification[[]] = Notification()  # after MTs are committed PENDING (wakes the dispatcher)

    def prepare(self, request: SendRequest, catalog: Catalog, *, checked: bool = True) -> dict[str, Any]:
        """Build the message row, raising InvalidParameter for any bad input.

        With ``checked=False`` (replies to MOs, which are facts, not requests) a bad number or an
        unroutable carrier does not raise: the row is stored with that final status instead.
        """
        workspace = request.workspace
        status = Status.PENDING
        detail: str | None = None

        carrier = request.carrier
        if carrier is not None and carrier not in catalog.carriers:
            raise InvalidParameter("carrier", f"unknown carrier {carrier!r}")
        if not catalog.owns_code(workspace.id, request.sender):
            raise InvalidParameter("from", "code not assigned to this workspace")
        try:
            recipient = normalize_mt_number(request.recipient, "mobileNumber")
        except InvalidParameter:
            if checked:
                raise
            recipient, status, detail = _digits(request.recipient), Status.BAD_TO, "Invalid mobile number"
        info = check_text(request.text, "text")

        if carrier is None:
            carrier = route(recipient, catalog, workspace)
            if carrier is None:
                carrier = ""
                if status is Status.PENDING:
                    status, detail = Status.BAD_CARRIER, "No carrier serves this number"

        if status is Status.PENDING and self._is_opted_out(request, recipient):
            status, detail = Status.NOT_SENT, OPTED_OUT

        now = _now_ms()
        flags = request.flags
        horizon_days = self._settings.schedule_horizon_days
        if flags.at_ms is not None and flags.at_ms > now + horizon_days * 86_400_000:
            raise InvalidParameter("flags", f"at= is more than {horizon_days} days ahead")
        not_before = max(now, flags.at_ms or 0)
        validity = flags.validity_minutes or self._settings.default_validity_minutes
        return {
            "id": self._ids.next_id(),
            "workspace_id": workspace.id,
            "client_id": request.client_id,
            "kind": request.kind,
            "carrier": carrier,
            "sender": request.sender,
            "recipient": recipient,
            "text": request.text,
            "flags": flags.raw(),
            "data_coding": info.data_coding,
            "segments": info.segments,
            "priority": _PRIORITY.get(flags.priority, 1),
            "status": status.value,
            "status_detail": detail,
            "created_at_ms": now,
            "updated_at_ms": now,
            "next_attempt_at_ms": not_before,
            "attempts": 0,
            "expires_at_ms": not_before + validity * 60_000,
            "carrier_message_id": None,
            "mo_id": request.mo_id,
        }

    async def send(self, request: SendRequest, catalog: Catalog, admit: Admit | None = None) -> MessageView:
        await self.opt_outs_current(request.kind)
        row = self.prepare(request, catalog)
        price = price_of(catalog, row)  # may refuse the number: a parameter, checked before the limits
        if admit is not None:
            await admit(row)  # a plain send's limits need nothing in the transaction
        view = view_of(row)
        if request.claim is None:
            if price is None:
                await self._writer.write(Insert(messages, [row]))
            else:
                await store_charged(self._writer, row, price)
        else:  # the Idempotency-Key is taken in the transaction that stores the message (and debits it)
            write = _insert_message(row) if price is None else charged(row, price)
            await self._writer.write(request.claim.guarding(write, view, row["id"]))
        self.announce_accepted()
        return view

    async def send_pin(self, request: SendRequest, catalog: Catalog, length: int,
                       admit: Admit | None = None) -> PinView:
        await self.opt_outs_current(request.kind)
        pin = pin_policy.generate_pin(length)
        # Checked and stored masked: the mask has the PIN's length and coding, so the segments and
        # data coding are those of the real text.
        masked = pin_policy.mask_pin_text(request.text, length)
        row = self.prepare(
            SendRequest(
                request.workspace, request.client_id, "pin", request.carrier, request.sender,
                request.recipient, masked, request.flags,
            ),
            catalog,
        )
        price = price_of(catalog, row)  # may refuse the number: a parameter, checked before the limits
        in_transaction = await admit(row) if admit is not None else None
        row["sealed_text"] = self._seal(pin_policy.render_pin_text(request.text, pin))
        expires_at = row["created_at_ms"] + self._settings.pin_ttl_s * 1000
        pin_row = {
            "message_id": row["id"],
            "workspace_id": row["workspace_id"],
            "recipient": row["recipient"],
            "pin_hash": pin_policy.hash_pin(pin, self._pin_key),
            "expires_at_ms": expires_at,
            "attempts": 0,
        }
        view = PinView(pin, row["id"], expires_at)
        if price is not None and request.claim is None:
            # the PIN-send limits are counted in the transaction that debits and stores it
            await store_charged(self._writer, row, price, [(pins, pin_row)], check=in_transaction)
        else:
            if price is None:
                write = _insert_both(row, pin_row, in_transaction)
            else:
                write = charged(row, price, [(pins, pin_row)], in_transaction)
            if request.claim is not None:
                # A refusal must undo the key taken with it: raised, so the transaction holds neither.
                write = request.claim.guarding(_raising(write), view, row["id"])
            refusal = await self._writer.write(write)
            if refusal is not None:
                raise refusal
        self.announce_accepted()
        return view

    async def opt_outs_current(self, kind: str) -> None:
        """Before a send of ``kind`` is prepared: the opt-out view holds every STOP and START
        answered before now (services/optouts.py; without a database read on SQLite, mostly)."""
        if kind != CONFIRMATION and self._opt_outs is not None:
            await self._opt_outs.catch_up(self._writer)

    def _is_opted_out(self, request: SendRequest, recipient: str) -> bool:
        """Opted out of this workspace; the answers to STOP, START and HELP go out all the same."""
        return (request.kind != CONFIRMATION and self._opt_outs is not None
                and self._opt_outs.is_opted_out(request.workspace.id, recipient))

    def announce_accepted(self) -> None:
        """MTs were committed PENDING: by send and send_pin, or by another path in a transaction of its
        own (an MO's replies, a broadcast's page, a webhook's reply). Whoever delivers them is woken."""
        self.accepted.notify()


def _insert_message(row: dict[str, Any]) -> Callable[[Connection], None]:
    def write(connection: Connection) -> None:
        connection.execute(messages.insert(), [row])

    return write


def _raising(write: Callable[[Connection], ApiError | None]) -> Callable[[Connection], None]:
    """``write`` whose returned refusal is raised instead, so that its transaction keeps nothing."""
    def run(connection: Connection) -> None:
        refusal = write(connection)
        if refusal is not None:
            raise refusal

    return run


def _insert_both(message_row: dict[str, Any], pin_row: dict[str, Any],  # noqa: ANN202
                 in_transaction: InTransaction | None = None):
    def write(connection: Connection) -> ApiError | None:
        if in_transaction is not None and (refusal := in_transaction(connection)) is not None:
            return refusal  # returned, not raised: the writer's other grouped writes stay in the commit
        connection.execute(messages.insert(), [message_row])
        connection.execute(pins.insert(), [pin_row])
        return None

    return write


def view_of(row: dict[str, Any]) -> MessageView:
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


def _digits(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())[:20]


def _now_ms() -> int:
    return int(time.time() * 1000)
