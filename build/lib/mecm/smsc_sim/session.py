"""One ESME connection to the simulator: reads PDUs, checks the bind state, answers what it can
itself (bind, enquire_link, unbind, errors) and hands submits, queries and deliver_sm responses to
the `Smsc` that owns it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mecm.smpp.pdu import (
    BIND_COMMANDS,
    BIND_RECEIVER,
    BIND_TRANSCEIVER,
    BIND_TRANSMITTER,
    DELIVER_SM_RESP,
    ENQUIRE_LINK,
    ESME_RALYBND,
    ESME_RINVBNDSTS,
    ESME_RINVCMDID,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    GENERIC_NACK,
    LAYOUTS,
    QUERY_SM,
    RESPONSE_BIT,
    SUBMIT_SM,
    UNBIND,
    Pdu,
    PduError,
    decode,
    encode,
    read_frame,
    response,
)

if TYPE_CHECKING:
    from mecm.smsc_sim.server import Smsc

SMSC_SYSTEM_ID = "smsc-sim"  # what bind_*_resp tells the ESME our name is
BIND_NAMES = {BIND_RECEIVER: "receiver", BIND_TRANSMITTER: "transmitter", BIND_TRANSCEIVER: "transceiver"}


@dataclass
class Delivery:
    """A deliver_sm (receipt or MO) on its way to the ESME; it stays queued until acknowledged."""

    pdu: Pdu
    system_id: str
    receipt_for: int | None = None  # the submit it reports on, for a receipt
    attempts: int = 0


class Session:
    def __init__(self, smsc: Smsc, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.smsc = smsc
        self.number = number
        self.reader = reader
        self.writer = writer
        self.bind: int | None = None  # the bind command once bound
        self.system_id = ""
        self.outstanding: dict[int, Delivery] = {}  # our deliver_sm sequence -> delivery
        self.closed = False
        self._sequence = 0
        self._out: list[bytes] = []  # encoded PDUs, written together at the end of the turn
        self._keepalive_task: asyncio.Task | None = None

    @property
    def receives(self) -> bool:
        return self.bind in (BIND_RECEIVER, BIND_TRANSCEIVER)

    @property
    def transmits(self) -> bool:
        return self.bind in (BIND_TRANSMITTER, BIND_TRANSCEIVER)

    def describe(self) -> dict:
        return {"session": self.number, "system_id": self.system_id, "bind": BIND_NAMES.get(self.bind),
                "outstanding": len(self.outstanding)}

    def next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    def send(self, pdu: Pdu) -> bool:
        """Write one PDU (at the end of this event-loop turn, with the others sent in it); False
        (nothing written) when closed or playing a half-dead peer."""
        if self.closed or not self.smsc.config.answer_enquire_link:
            return False
        raw = encode(pdu)
        if not self._out:
            self.smsc.output_pending(self)
        self._out.append(raw)
        self.smsc.log.add("out", self.number, raw, pdu)
        return True

    def flush(self) -> None:
        """Write what send() queued, in order, in one write."""
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            if not self.writer.transport.is_closing():
                self.writer.write(data)

    def close(self) -> None:
        self.closed = True
        self.flush()
        self.writer.close()

    async def run(self) -> None:
        self._keepalive_task = asyncio.create_task(self._keepalive())
        try:
            while not self.closed:
                try:
                    raw = await read_frame(self.reader)
                except PduError as error:  # an impossible command_length: we cannot find the next PDU
                    self.smsc.log.add("in", self.number, b"", None, error.message)
                    self.send(Pdu(GENERIC_NACK, error.command_status))
                    break
                try:
                    pdu = decode(raw)
                except PduError as error:
                    self.smsc.log.add("in", self.number, raw, None, error.message)
                    self._refuse(error)
                    continue
                self.smsc.log.add("in", self.number, raw, pdu)
                self._handle(pdu)
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            # Submits still waiting for their commit or their latency are not cancelled: they are
            # stored, and their response is simply lost with the connection, as with a real SMSC.
            self.closed = True
            self._keepalive_task.cancel()
            self.flush()
            self.writer.close()
            self.smsc.session_closed(self)

    def _refuse(self, error: PduError) -> None:
        """A known request with a bad body gets its own response with the error status; anything
        else (unknown command, bad response) a generic_nack (SMPP 3.4 section 4.3)."""
        self.smsc.stats.generic_nacks += error.command_id not in LAYOUTS or bool(error.command_id & RESPONSE_BIT)
        if error.command_id in LAYOUTS and not error.command_id & RESPONSE_BIT:
            self.send(Pdu(error.command_id | RESPONSE_BIT, error.command_status, error.sequence))
        else:
            self.send(Pdu(GENERIC_NACK, error.command_status, error.sequence))

    def _handle(self, pdu: Pdu) -> None:
        command = pdu.command_id
        if command == ENQUIRE_LINK:
            self.smsc.stats.enquire_links += 1
            self.send(response(pdu))
        elif command in BIND_COMMANDS:
            self._bind(pdu)
        elif command == DELIVER_SM_RESP:
            self.smsc.delivered(self, pdu)
        elif pdu.is_response:
            pass  # enquire_link_resp to our keep-alive, generic_nack: nothing to do
        elif self.bind is None:
            self.send(response(pdu, ESME_RINVBNDSTS))
        elif command == UNBIND:
            self.smsc.stats.unbinds += 1
            self.send(response(pdu))
            self.closed = True  # the loop ends after this write is drained
        elif command == SUBMIT_SM:
            if not self.transmits:
                self.send(response(pdu, ESME_RINVBNDSTS))
            else:
                self.smsc.submit(self, pdu)  # answered once committed: keep reading (a window)
        elif command == QUERY_SM:
            self.send(self.smsc.query(pdu))
        else:  # deliver_sm from an ESME: an SMSC does not take those
            self.send(response(pdu, ESME_RINVCMDID))

    def _bind(self, pdu: Pdu) -> None:
        config = self.smsc.config
        if self.bind is not None:
            self.send(response(pdu, ESME_RALYBND))
            return
        if pdu.fields["system_id"] != config.system_id:
            status = ESME_RINVSYSID
        elif pdu.fields["password"] != config.password:
            status = ESME_RINVPASWD
        else:
            self.bind, self.system_id = pdu.command_id, pdu.fields["system_id"]
            self.smsc.stats.binds += 1
            self.send(response(pdu, system_id=SMSC_SYSTEM_ID))
            self.smsc.session_bound(self)
            return
        self.smsc.stats.bind_failures += 1
        self.send(response(pdu, status))

    async def _keepalive(self) -> None:
        """The SMSC's own enquire_link, when enquire_link_interval_s > 0 (read anew each round)."""
        while not self.closed:
            interval = self.smsc.config.enquire_link_interval_s
            await asyncio.sleep(interval or 1.0)
            if interval and self.bind is not None and self.send(Pdu(ENQUIRE_LINK, sequence=self.next_sequence())):
                await self.writer.drain()
