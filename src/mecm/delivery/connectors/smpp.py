"""The ``smpp`` connector: mecm as an SMPP 3.4 client (ESME) of one carrier's SMSC.

It binds as a transceiver, or as a transmitter + receiver pair (``bind = "tx-rx"``), keeps each bind
alive and honest (mecm.delivery.smpp.session), rebinds with capped, jittered exponential backoff,
paces submits by a window and a token bucket (one token per part), and maps every answer onto the
fixed outcomes through one table (mecm.delivery.smpp.outcomes). Receipts and MOs arriving as
deliver_sm go to the sinks and are acknowledged only once stored (mecm.delivery.smpp.inbound).

DESIGN.md names aiosmpplib; we built our own session on our own pure codec (mecm.smpp) instead,
because we need query_sm, transmitter/receiver pairs, SAR and message_payload concatenation and
every part's message id, and because the codec is shared with the SMSC simulator, so both ends of
every test read the spec the same way.

Settings: see mecm.domain.smpp_settings.SmppSettings (host, port, system_id, password, bind,
window, tps, tls, concat, enquire_link_s, id_format, ...). The password never reaches a log line,
``self.settings`` or ``status()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from mecm.delivery.connectors.base import (
    Connector,
    MOPartSink,
    MOSink,
    Outcome,
    OutcomeKind,
    ReceiptSink,
)
from mecm.delivery.smpp import outcomes as O
from mecm.domain.smpp_settings import SmppSettings
from mecm.delivery.smpp.inbound import Inbound
from mecm.delivery.smpp.rate import (
    Latencies,
    RateMeter,
    TokenBucket,
    Window,
    reconnect_delay,
    slow_down_delay,
)
from mecm.delivery.smpp.session import BindRefused, Session, SessionLost
from mecm.domain.flags import stored_flags
from mecm.errors import InvalidParameter
from mecm.smpp import pdu as P
from mecm.smpp.parts import Part, split_for_submit
from mecm.store.queue import Claimed

log = logging.getLogger(__name__)

_BIND_COMMANDS = {"trx": P.BIND_TRANSCEIVER, "tx": P.BIND_TRANSMITTER, "rx": P.BIND_RECEIVER}
_PART_SLOW_DOWN_TRIES = 3  # a later part throttled is retried in place, so the message stays whole
_LATE_IDS_KEPT = 10_000


class SmppConnector(Connector):
    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        config = SmppSettings.parse(settings)
        super().__init__(name, config.public())
        self.config = config
        self._roles = ("trx",) if config.bind == "transceiver" else ("tx", "rx")
        self._tx_role = self._roles[0]
        self._sessions: dict[str, Session | None] = dict.fromkeys(self._roles)
        self._bound = {role: asyncio.Event() for role in self._roles}
        self._window = Window(config.window)
        self.submit_concurrency = config.window  # one submit outstanding per worker fills the window
        # A message keeps its place in the window until its outcome is committed, not only until its
        # answer comes: so a worker killed at any moment has at most `window` messages sent whose
        # outcome it has not recorded, the ones a restart resends (issue 16 counted 40 twice with
        # window 10 when the window was freed on the answer).
        self.unrecorded = Window(config.window)
        self._bucket = TokenBucket(config.tps)
        self._meter = RateMeter()
        self._latencies = Latencies()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._closing = False  # stop_submitting() was called: no new message is begun
        self._taking: set[asyncio.Future[None]] = set()  # token waits stop_submitting() interrupts
        self._throttle_streak = 0  # throttle episodes in a row, each after a pause that did not help
        self._paused_at = float("-inf")  # when the last throttle pause began (monotonic)
        self._pause_s = 0.0
        self._late_ids: OrderedDict[int, str] = OrderedDict()  # answers that came after we gave up
        self._inbound: Inbound | None = None
        self.counters = {"submits": 0, "accepted": 0, "throttled": 0, "reconnects": 0, "in_doubt": 0}

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self, receipts: ReceiptSink, *, mo: MOSink | None = None,
                    mo_part: MOPartSink | None = None) -> None:
        await super().start(receipts, mo=mo, mo_part=mo_part)
        self._inbound = Inbound(self.name, self.config, receipts, mo, mo_part)
        for role in self._roles:
            self._tasks.append(asyncio.create_task(self._keep_bound(role), name=f"smpp-{self.name}-{role}"))

    def stop_submitting(self) -> None:
        """Send no more messages: those waiting for the window or a token come back at once as
        RETRY (no attempt spent; nothing was sent), so a stop does not wait for a backlog to drain at
        ``tps``. Messages whose first part went out are finished. Submits already sent keep waiting
        for their answers, so a clean stop leaves nothing in doubt."""
        self._closing = True
        for taking in list(self._taking):
            taking.cancel()

    async def stop(self) -> None:
        """Stop taking submits, wait (at most enquire_link_s) for those in flight, unbind, close."""
        self.stop_submitting()
        self._stopping = True
        deadline = time.monotonic() + self.config.enquire_link_s
        while self._window.in_use and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        sessions = [s for s in self._sessions.values() if s is not None]
        await asyncio.gather(*(s.unbind(min(5.0, self.config.enquire_link_s)) for s in sessions))

    def _new_session(self, role: str) -> Session:
        c = self.config
        on_deliver = self._on_deliver if role in ("trx", "rx") else None
        return Session(
            f"{self.name}/{role}", host=c.host, port=c.port, bind_command=_BIND_COMMANDS[role],
            system_id=c.system_id, password=c.password, system_type=c.system_type, tls=c.tls,
            tls_verify=c.tls_verify, tls_ca=c.tls_ca, enquire_link_s=c.enquire_link_s, on_deliver=on_deliver,
        )

    async def _keep_bound(self, role: str) -> None:
        """Bind, wait for the bind to end, back off, bind again: until stop()."""
        failures = 0
        while not self._stopping:
            session = self._new_session(role)
            self._sessions[role] = session
            try:
                await session.open()
            except BindRefused as refused:
                log.error("smpp %s/%s: %s (check system_id and password)", self.name, role, refused)
            except (OSError, TimeoutError, SessionLost) as error:
                log.warning("smpp %s/%s: cannot bind to %s:%d: %s", self.name, role, self.config.host,
                            self.config.port, error.__class__.__name__)
            except Exception:
                log.exception("smpp %s/%s: bind failed unexpectedly", self.name, role)
            else:
                bound_at = time.monotonic()
                self._bound[role].set()
                log.info("smpp %s/%s: bound to %s:%d", self.name, role, self.config.host, self.config.port)
                reason = await session.wait_closed()
                self._bound[role].clear()
                if self._stopping:
                    return
                self.counters["reconnects"] += 1
                log.warning("smpp %s/%s: bind lost (%s); rebinding", self.name, role, reason)
                if time.monotonic() - bound_at >= self.config.enquire_link_s:
                    failures = 0  # it held: start the backoff over
            delay = reconnect_delay(failures, self.config.reconnect_base_s, self.config.reconnect_max_s)
            failures += 1
            await asyncio.sleep(delay)

    async def _on_deliver(self, pdu: P.Pdu) -> int:
        assert self._inbound is not None
        return await self._inbound.handle(pdu)

    # -- submit ----------------------------------------------------------------------------------

    async def submit(self, message: Claimed) -> Outcome:
        try:
            flags = stored_flags(message.flags)
            parts = split_for_submit(message.text, concat=self.config.concat, reference=message.id & 0xFFFF,
                                     gsm_packed=self.config.gsm_packed)
        except (InvalidParameter, ValueError) as error:
            return Outcome.failed("NOT_SENT", f"cannot be sent over SMPP: {error}")
        fields = self._submit_fields(message, flags)
        ids: list[str] = []
        for index, part in enumerate(parts):
            outcome = await self._submit_part(message, fields, part, later_part=index > 0)
            if outcome.kind is not OutcomeKind.ACCEPTED:
                if ids and outcome.kind is OutcomeKind.RETRY and not outcome.counts_as_attempt:
                    # some parts are with the carrier; resending them all would duplicate them
                    return replace(outcome, counts_as_attempt=True)
                return outcome
            assert outcome.carrier_message_id is not None
            ids.append(outcome.carrier_message_id)
        self.counters["accepted"] += 1
        return Outcome(OutcomeKind.ACCEPTED, carrier_message_id=ids[0], part_ids=tuple(ids))

    def _submit_fields(self, message: Claimed, flags: Any) -> dict[str, Any]:
        src_ton, src_npi, source = O.source_address(message.sender)
        dst_ton, dst_npi, destination = O.destination_address(message.recipient)
        return {
            "service_type": "", "source_addr_ton": src_ton, "source_addr_npi": src_npi, "source_addr": source,
            "dest_addr_ton": dst_ton, "dest_addr_npi": dst_npi, "destination_addr": destination,
            "protocol_id": 0, "priority_flag": 1 if flags.priority == "high" else 0,
            "schedule_delivery_time": "",
            "validity_period": O.relative_validity(flags.validity_minutes) if flags.validity_minutes else "",
            "registered_delivery": 0 if flags.nodlr else 1, "replace_if_present_flag": 0,
            "sm_default_msg_id": 0, "flash": flags.flash,
        }

    async def _submit_part(self, message: Claimed, fields: dict[str, Any], part: Part, *, later_part: bool) -> Outcome:
        body = {k: v for k, v in fields.items() if k != "flash"}
        body.update(esm_class=part.esm_class, short_message=part.short_message,
                    data_coding=O.flash_coding(part.data_coding) if fields["flash"] else part.data_coding)
        tries = _PART_SLOW_DOWN_TRIES if later_part else 1
        for attempt in range(1, tries + 1):
            pdu = P.Pdu(P.SUBMIT_SM, fields=body, tlvs=dict(part.tlvs))
            # a message is held back at a stop only before its first part: once begun, it is finished
            outcome = await self._submit_pdu(message, pdu, may_hold_back=not later_part)
            if outcome.counts_as_attempt or outcome.kind is not OutcomeKind.RETRY or attempt == tries:
                return outcome
            await asyncio.sleep(outcome.retry_after_s or 1.0)
        raise AssertionError("unreachable")

    async def _submit_pdu(self, message: Claimed, request: P.Pdu, *, may_hold_back: bool) -> Outcome:
        if may_hold_back and self._closing:
            return self._held_back()
        session = await self._ready_session()
        if session is None:
            return self._not_bound()
        async with self._window:
            # after the window, so the token's time is the send's time
            if may_hold_back:
                if not await self._take_unless_closing():
                    return self._held_back()
            else:
                await self._bucket.take()
            try:
                answer_future = session.send(request)
            except SessionLost:
                return self._not_bound()
            sent_at = time.monotonic()
            self.counters["submits"] += 1
            self._meter.record()
            try:
                answer = await session.answer_within(answer_future, self.config.enquire_link_s)
            except TimeoutError:
                answer_future.add_done_callback(lambda f: self._remember_late(message.id, f))
                return self._in_doubt(f"no submit_sm_resp within {self.config.enquire_link_s:g} s")
            except SessionLost:
                return self._in_doubt("bind lost before the submit_sm_resp")
        self._latencies.record(time.monotonic() - sent_at)
        status = answer.command_status
        if status == P.ESME_ROK:
            self._throttle_streak = 0
            raw_id = str(answer.fields.get("message_id", ""))
            return Outcome.accepted(O.normalise_id(raw_id, self.config.id_format, from_response=True))
        if O.is_slow_down(status):
            return O.submit_outcome(status, self._slow_down(sent_at))
        return O.submit_outcome(status, 0.0)

    def _slow_down(self, sent_at: float) -> float:
        """The SMSC throttled a submit sent at ``sent_at``: pause every submit, and return the pause.

        A throttle of a submit sent after the last pause began means the pause did not help: the
        next pause doubles (``throttle_pause_s``, then twice that... up to 30 times it). Submits
        that were already in flight when the pause began are the same episode: they neither
        double it nor start another, so one burst answered "throttled" costs one pause.
        """
        self.counters["throttled"] += 1
        if sent_at >= self._paused_at:
            self._throttle_streak += 1
            base = self.config.throttle_pause_s
            self._pause_s = slow_down_delay(self._throttle_streak, base, 30 * base)
            self._paused_at = time.monotonic()
            self._bucket.pause(self._pause_s)
        return self._pause_s

    async def _ready_session(self) -> Session | None:
        if self._stopping:
            return None
        event = self._bound[self._tx_role]
        if not event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(5.0, 2 * self.config.enquire_link_s))
        session = self._sessions[self._tx_role]
        return session if session is not None and session.state == "bound" else None

    async def _take_unless_closing(self) -> bool:
        """Take a token; False when stop_submitting() came first (no token taken, nothing sent)."""
        if self._closing:
            return False
        if not self._bucket.may_wait():
            await self._bucket.take()
            return True
        taking = asyncio.ensure_future(self._bucket.take())
        self._taking.add(taking)
        try:
            await taking
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we were cancelled, not interrupted by stop_submitting()
            return False
        finally:
            self._taking.discard(taking)
        return True

    def _held_back(self) -> Outcome:
        # Never sent, because mecm is stopping: back to PENDING, due at once, no attempt spent.
        return replace(Outcome.retry("not sent: mecm was stopping", after_s=0), counts_as_attempt=False)

    def _not_bound(self) -> Outcome:
        # Never sent: not the message's fault, so it costs no attempt; validity still ends it.
        after = min(self.config.reconnect_max_s, max(1.0, self.config.reconnect_base_s))
        return replace(Outcome.retry("not bound to the SMSC", after_s=after), counts_as_attempt=False)

    def _in_doubt(self, detail: str) -> Outcome:
        self.counters["in_doubt"] += 1
        return O.in_doubt(detail)

    def _remember_late(self, message_id: int, future: asyncio.Future[P.Pdu]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        answer = future.result()
        if answer.command_status == P.ESME_ROK:
            raw = str(answer.fields.get("message_id", ""))
            self._late_ids[message_id] = O.normalise_id(raw, self.config.id_format, from_response=True)
            while len(self._late_ids) > _LATE_IDS_KEPT:
                self._late_ids.popitem(last=False)

    # -- query -----------------------------------------------------------------------------------

    async def query(self, message: Claimed) -> Outcome:
        """query_sm by the carrier message id: ACCEPTED when the SMSC knows it, UNKNOWN when not.

        The id is the stored one (``message.carrier_message_id``) or one whose submit_sm_resp came
        after we stopped waiting. Without an id, or with
        ``supports_query`` off, the answer is UNKNOWN. When no bind is up it is an in-doubt RETRY:
        ask again later rather than resend.
        """
        carrier_id = message.carrier_message_id or self._late_ids.get(message.id)
        if not self.config.supports_query or not carrier_id:
            return Outcome.unknown()
        session = await self._ready_session()
        if session is None:
            return O.in_doubt("not bound: cannot query the SMSC")
        ton, npi, source = O.source_address(message.sender)
        request = P.Pdu(P.QUERY_SM, fields={
            "message_id": O.denormalise_id(carrier_id, self.config.id_format),
            "source_addr_ton": ton, "source_addr_npi": npi, "source_addr": source,
        })
        try:
            answer = await session.request(request, self.config.enquire_link_s)
        except (TimeoutError, SessionLost):
            return O.in_doubt("query_sm unanswered")
        if answer.command_status in (P.ESME_RQUERYFAIL, P.ESME_RINVMSGID):
            return Outcome.unknown()
        if answer.command_status != P.ESME_ROK:
            return O.in_doubt(f"query_sm refused: {O.status_name(answer.command_status)}")
        return Outcome(OutcomeKind.ACCEPTED, carrier_message_id=carrier_id, part_ids=(carrier_id,))

    # -- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For ``mecm admin carrier status``: binds, window, rate and counters (no secrets)."""
        return {
            "carrier": self.name,
            "connector": "smpp",
            "address": f"{self.config.host}:{self.config.port}",
            "bind": self.config.bind,
            "sessions": {role: (s.state if s is not None else "down") for role, s in self._sessions.items()},
            "window_in_use": self._window.in_use,
            "unrecorded": self.unrecorded.in_use,  # begun, outcome not committed yet: at most the window
            "window": self.config.window,
            "tps": self.config.tps,
            "current_tps": self._meter.rate(),
            "submit_latency_p50_ms": self._latencies.quantile_ms(0.5),
            "submit_latency_p99_ms": self._latencies.quantile_ms(0.99),
            **self.counters,
        }
