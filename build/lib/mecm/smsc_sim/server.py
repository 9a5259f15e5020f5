"""The simulated SMSC: accepts ESME sessions, answers submit_sm and query_sm, and delivers receipts
and injected MOs as deliver_sm to the sessions bound as receiver or transceiver.

Deliveries behave like a real SMSC's: per system_id they wait in a queue until a receiving session
is bound (and answering), at most `deliver_window` are unacknowledged per session, and one that is
refused (non-zero deliver_sm_resp) or lost with its connection is delivered again. A receipt counts
as sent in the durable record only once acknowledged, so it is sent again after a restart.

Built to absorb far more than an ESME sends: at the end of each event-loop turn (`_tick`) the submits
read in that turn are committed together and answered, and each session's PDUs go out in one write.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import replace

from mecm.smpp.pdu import (
    DELIVERED,
    ENROUTE,
    ESME_RINVDSTADR,
    ESME_ROK,
    ESME_RQUERYFAIL,
    ESME_RSYSERR,
    ESME_RTHROTTLED,
    UNDELIVERABLE,
    Pdu,
    response,
)
from mecm.smsc_sim.config import SimConfig
from mecm.smsc_sim.mo import build_mo, build_receipt
from mecm.smsc_sim.records import (
    PduLog,
    Stats,
    Submit,
    SubmitStore,
    duplicate_key,
    message_text,
)
from mecm.smsc_sim.session import Delivery, Session
from mecm.smsc_sim.timers import Deadlines

UNDELIV_ERR = 1  # the err: of a failed receipt, and network_error_code


def format_id(value: int, fmt: str) -> str:
    return format(value, "x") if fmt == "hex" else str(value)


def parse_id(text: str, fmt: str) -> int | None:
    try:
        return int(text, 16 if fmt == "hex" else 10)
    except ValueError:
        return None


def _smpp_time(at: float) -> str:
    """SMPP absolute time, YYMMDDhhmmsstnnp, in UTC."""
    return time.strftime("%y%m%d%H%M%S", time.gmtime(at)) + "000+"


class Smsc:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.initial_config = replace(config)
        self.random = random.Random(config.seed)
        self.store = SubmitStore(config.db_path)
        self.log = PduLog(config.record_path, config.record_limit)
        self.stats = Stats()
        self.sessions: set[Session] = set()
        self.queues: dict[str, collections.deque[Delivery]] = collections.defaultdict(collections.deque)
        self.port = config.port
        self._numbers = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.deadlines: Deadlines | None = None  # delayed calls: receipts, latencies, deliver_sm timeouts
        self._mo_reference = self.random.randrange(256)
        self._awaiting_receipt: dict[int, Submit] = {}  # submit id -> submit, until its receipt is queued
        self._output: dict[Session, None] = {}  # sessions with PDUs to write at the end of this turn
        self._tick_scheduled = False

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.deadlines = Deadlines(self._loop)
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port,
                                                  ssl=self._tls_context())
        self.port = self._server.sockets[0].getsockname()[1]
        for submit in self.store.receipts_due():  # receipts a restart interrupted
            if self._wants_receipt(submit):
                self._schedule_receipt(submit)

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.disconnect()
        await asyncio.sleep(0)  # let the sessions see their closed connections
        self.store.close()
        self.log.close()

    def disconnect(self) -> int:
        """Drop every connection (as a crashing SMSC or a network cut would); returns how many."""
        sessions = list(self.sessions)
        for session in sessions:
            session.close()
        return len(sessions)

    def reset(self) -> None:
        """Forget submits, PDUs, counters and queued deliveries; back to the start-up config."""
        self.store.clear()
        self.log.clear()
        self.stats = Stats()
        self.queues.clear()
        self._awaiting_receipt.clear()
        self.config.__dict__.update(vars(replace(self.initial_config)))

    # --- the end of each event-loop turn: one commit, one write per session --------------------------

    def _wake(self) -> None:
        """Run _tick once the callbacks ready now have run (what they read is then handled)."""
        if not self._tick_scheduled:
            self._tick_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        self._tick_scheduled = False
        self.store.flush()  # answers the submits it commits: they join the output below
        output, self._output = self._output, {}
        for session in output:
            session.flush()

    def output_pending(self, session: Session) -> None:
        """`session` has PDUs to write: they go out together at the end of this turn."""
        self._output[session] = None
        self._wake()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._numbers += 1
        session = Session(self, self._numbers, reader, writer)
        self.sessions.add(session)
        await session.run()

    def session_bound(self, session: Session) -> None:
        if session.receives:
            self.pump(session.system_id)

    def session_closed(self, session: Session) -> None:
        self.sessions.discard(session)
        if session.outstanding:  # unacknowledged deliveries go back to the front, in order
            queue = self.queues[session.system_id]
            for delivery in reversed(list(session.outstanding.values())):
                queue.appendleft(delivery)
            session.outstanding.clear()
            self.pump(session.system_id)

    def describe_sessions(self) -> list[dict]:
        return [s.describe() for s in sorted(self.sessions, key=lambda s: s.number)]

    # --- submit_sm and query_sm ---------------------------------------------------------------------

    def submit(self, session: Session, pdu: Pdu) -> None:
        """Decide; an accepted submit is recorded (a grouped commit, see SubmitStore) and answered
        once committed, after the configured latency; then its receipt, if asked for."""
        config = self.config
        self.stats.submit_sm += 1
        hung = 0 < config.hang_after_submits < self.stats.submit_sm  # recorded, never answered
        if self.random.random() < config.throttle_share:
            self.stats.throttled += 1
            status = ESME_RTHROTTLED
        elif self.random.random() < config.error_share:
            self.stats.errors_injected += 1
            status = config.error_status
        elif not pdu.fields["destination_addr"]:
            status = ESME_RINVDSTADR
        else:
            submit = self._record(session, pdu)
            self.store.add(submit, lambda ok: self._committed(session, pdu, submit, ok, answer=not hung))
            self._wake()
            return
        if not hung:
            self._after(config.submit_latency_ms, session.send, response(pdu, status))

    def _after(self, delay_ms: float, callback: Callable[..., object], *args: object) -> None:
        if delay_ms > 0:
            assert self.deadlines is not None
            self.deadlines.call_later(delay_ms / 1000, callback, *args)
        else:
            callback(*args)

    def _committed(self, session: Session, pdu: Pdu, submit: Submit, ok: bool, answer: bool = True) -> None:
        if not ok:  # not stored: refused, so the ESME sends it again
            if answer:
                self._after(self.config.submit_latency_ms, session.send, response(pdu, ESME_RSYSERR))
            return
        self.stats.count_accepted(submit.submitted_at)
        if answer:
            self._after(self.config.submit_latency_ms, self._answer, session, pdu, submit)

    def _answer(self, session: Session, pdu: Pdu, submit: Submit) -> None:
        config = self.config
        wanted = self._wants_receipt(submit)
        if wanted and config.receipt_before_response:
            self._awaiting_receipt[submit.id] = submit
            self._receipt_due(submit.id)
        session.send(response(pdu, message_id=format_id(submit.id, config.message_id_format)))
        if wanted and not config.receipt_before_response:
            self._schedule_receipt(submit)

    def _record(self, session: Session, pdu: Pdu) -> Submit:
        now = time.time()
        fields = pdu.fields
        failed = self.random.random() < self.config.receipt_failure_share
        delay = 0.0 if self.config.receipt_before_response else self.config.receipt_delay_ms / 1000
        return Submit(
            id=self.store.next_id(), system_id=session.system_id,
            source=fields["source_addr"], source_ton=fields["source_addr_ton"], source_npi=fields["source_addr_npi"],
            destination=fields["destination_addr"], dest_ton=fields["dest_addr_ton"],
            dest_npi=fields["dest_addr_npi"], data_coding=fields["data_coding"], text=message_text(pdu),
            dup_key=duplicate_key(pdu), registered_delivery=fields["registered_delivery"],
            submitted_at=now, done_at=now + delay, stat="UNDELIV" if failed else "DELIVRD",
            err=UNDELIV_ERR if failed else 0,
        )

    @staticmethod
    def _wants_receipt(submit: Submit) -> bool:
        """registered_delivery bits 0-1: 01 a receipt always, 10 only on failure (SMPP 3.4 5.2.17)."""
        wanted = submit.registered_delivery & 0x03
        return wanted == 1 or (wanted == 2 and submit.stat != "DELIVRD")

    def query(self, pdu: Pdu) -> Pdu:
        self.stats.query_sm += 1
        message_id = pdu.fields["message_id"]
        number = parse_id(message_id, self.config.message_id_format)
        submit = self.store.get(number) if number is not None else None
        if submit is None:
            return response(pdu, ESME_RQUERYFAIL)
        final = time.time() >= submit.done_at
        state = ENROUTE if not final else DELIVERED if submit.stat == "DELIVRD" else UNDELIVERABLE
        return response(pdu, message_id=message_id, final_date=_smpp_time(submit.done_at) if final else "",
                        message_state=state, error_code=submit.err if final else 0)

    # --- deliveries: receipts and MOs ---------------------------------------------------------------

    def _schedule_receipt(self, submit: Submit) -> None:
        assert self.deadlines is not None
        self._awaiting_receipt[submit.id] = submit
        self.deadlines.call_later(submit.done_at - time.time(), self._receipt_due, submit.id)

    def _receipt_due(self, submit_id: int) -> None:
        submit = self._awaiting_receipt.pop(submit_id, None)
        if submit is None:  # reset in between
            return
        receipt_id = format_id(submit.id, self.config.receipt_id_format or self.config.message_id_format)
        self.enqueue([Delivery(build_receipt(submit, receipt_id), submit.system_id, receipt_for=submit.id)])

    def inject_mo(self, source: str, destination: str, text: str, *, parts: int | None = None,
                  concat: str = "udh", data_coding: int | None = None, system_id: str | None = None,
                  reverse: bool = False, only: list[int] | None = None, reference: int | None = None) -> dict:
        """Queue an MO for the receivers of `system_id` (default: the configured one).

        `only`: send just these parts (1-based), as a network that lost the others would; with the
        same `reference` a later call can send the rest.
        """
        if reference is None:
            self._mo_reference = (self._mo_reference + 1) % 0x10000
            reference = self._mo_reference
        elif not 0 <= reference <= 0xFFFF:
            raise ValueError("reference must be 0 to 65535")
        pdus = build_mo(source, destination, text, reference=reference, parts=parts,
                        concat=concat, data_coding=data_coding)
        if only is not None:
            if not all(isinstance(n, int) and 1 <= n <= len(pdus) for n in only):
                raise ValueError(f"only must list part numbers from 1 to {len(pdus)}")
            pdus = [pdus[n - 1] for n in only]
        system_id = system_id or self.config.system_id
        deliveries = [Delivery(pdu, system_id) for pdu in pdus]
        self.enqueue(deliveries[::-1] if reverse else deliveries)
        return {"reference": reference, "pdus": len(pdus),
                "receivers": sum(1 for s in self.sessions if s.receives and s.system_id == system_id)}

    def enqueue(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self.queues[delivery.system_id].append(delivery)
        for system_id in {d.system_id for d in deliveries}:
            self.pump(system_id)

    def pump(self, system_id: str) -> None:
        """Send queued deliveries to the least busy receiving session with room in its window."""
        queue = self.queues.get(system_id)
        if not queue or not self.config.answer_enquire_link:
            return
        while queue:
            receivers = [s for s in self.sessions if s.receives and s.system_id == system_id and not s.closed
                         and len(s.outstanding) < self.config.deliver_window]
            if not receivers:
                return
            session = min(receivers, key=lambda s: len(s.outstanding))
            delivery = queue.popleft()
            delivery.pdu.sequence = session.next_sequence()
            session.send(delivery.pdu)
            session.outstanding[delivery.pdu.sequence] = delivery
            # by sequence, not by delivery: an acknowledged one is not kept alive until its timeout
            self.deadlines.call_later(self.config.deliver_timeout_s, self._unanswered, session, delivery.pdu.sequence)
            delivery.attempts += 1
            if delivery.attempts > 1:
                self.stats.deliver_sm_redelivered += 1
            elif delivery.receipt_for is not None:
                self.stats.receipts_sent += 1
            else:
                self.stats.mo_sent += 1

    def delivered(self, session: Session, pdu: Pdu) -> None:
        """A deliver_sm_resp: done when accepted, else delivered again after deliver_retry_s."""
        delivery = session.outstanding.pop(pdu.sequence, None)
        if delivery is None:
            return
        if pdu.command_status == ESME_ROK:
            self.stats.deliver_sm_acked += 1
            if delivery.receipt_for is not None:
                self.store.mark_receipt_sent(delivery.receipt_for)
                self._wake()
        else:
            self.stats.deliver_sm_refused += 1
            assert self._loop is not None
            self._loop.call_later(self.config.deliver_retry_s, self.enqueue, [delivery])
        self.pump(session.system_id)

    def _unanswered(self, session: Session, sequence: int) -> None:
        """No deliver_sm_resp in time: take the delivery back and queue it again."""
        delivery = session.outstanding.pop(sequence, None)
        if delivery is not None:
            self.enqueue([delivery])

    def resume(self) -> None:
        """Deliver what waited while the SMSC played dead."""
        for system_id in list(self.queues):
            self.pump(system_id)

    def snapshot(self) -> dict:
        submits, duplicates = self.store.counts()
        return {**self.stats.as_dict(), "submits": submits, "duplicates": duplicates, "commits": self.store.commits,
                "queued": sum(len(q) for q in self.queues.values()), "sessions": self.describe_sessions()}


async def run(config: SimConfig, ready: Callable[[Smsc, int | None], None],
              stop: asyncio.Event | None = None) -> None:
    """Run the SMSC and its control interface until `stop` is set; `ready(smsc, control_port)` is
    called once both listen."""
    from mecm.smsc_sim.control import start_control

    stop = stop or asyncio.Event()
    smsc = Smsc(config)
    await smsc.start()
    control = await start_control(smsc, config.host, config.control_port) if config.control_port is not None else None
    ready(smsc, control.sockets[0].getsockname()[1] if control else None)
    try:
        await stop.wait()
    finally:
        if control is not None:
            control.close()
        with contextlib.suppress(Exception):
            await smsc.stop()
