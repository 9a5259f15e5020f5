"""One SMPP bind over one TCP (optionally TLS) connection: it only moves PDUs.

A ``Session`` connects, binds, numbers its requests and matches each response to its request by
sequence number, answers the SMSC's enquire_link and unbind, hands every deliver_sm to a callback
and answers it with the status the callback returns (so a receipt is acknowledged only once it is
stored), and keeps the link honest: it sends enquire_link every ``enquire_link_s`` and declares the
peer dead when that goes unanswered for ``enquire_link_s`` (so a half-dead bind is found within two
intervals). A dead or closed session fails every request still waiting with ``SessionLost``; the
connector decides what that means (an in-doubt submit) and opens a new session.

Nothing here logs a PDU's fields: the bind carries the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable

from mecm.smpp import pdu as P

log = logging.getLogger(__name__)

INTERFACE_VERSION = 0x34
DeliverHandler = Callable[[P.Pdu], Awaitable[int]]  # returns the deliver_sm_resp command_status


class SessionLost(Exception):
    """The connection closed (or was declared dead) before the answer came."""


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {P.STATUS_NAMES.get(status, f'0x{status:08X}')}")
        self.status = status


class Session:
    def __init__(
        self,
        label: str,
        *,
        host: str,
        port: int,
        bind_command: int,
        system_id: str,
        password: str,
        system_type: str = "",
        tls: bool = False,
        tls_verify: bool = True,
        tls_ca: str = "",
        enquire_link_s: float = 30.0,
        on_deliver: DeliverHandler | None = None,
    ) -> None:
        self.label = label
        self.state = "down"  # down | connecting | bound
        self._address = (host, port)
        self._bind_command = bind_command
        self._credentials = (system_id, password, system_type)
        self._tls = tls
        self._tls_verify = tls_verify
        self._tls_ca = tls_ca
        self.enquire_link_s = enquire_link_s
        self._on_deliver = on_deliver
        self._writer: asyncio.StreamWriter | None = None
        # PDUs written in one event-loop turn leave in one socket write (a window of submits, or a
        # burst of deliver_sm_resp): one system call instead of one each, here and at the SMSC.
        self._outgoing: list[bytes] = []
        self._pending: dict[int, asyncio.Future[P.Pdu]] = {}
        self._sequence = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self.close_reason = ""

    # -- life cycle ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and bind; raises OSError/TimeoutError/SessionLost, or BindRefused."""
        self.state = "connecting"
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(*self._address, ssl=self._ssl_context()), self.enquire_link_s
            )
            self._tasks.append(asyncio.create_task(self._read(reader), name=f"smpp-{self.label}-read"))
            system_id, password, system_type = self._credentials
            bind = P.Pdu(self._bind_command, fields={
                "system_id": system_id, "password": password, "system_type": system_type,
                "interface_version": INTERFACE_VERSION, "addr_ton": 0, "addr_npi": 0, "address_range": "",
            })
            answer = await self.request(bind, self.enquire_link_s)
            if answer.command_status != P.ESME_ROK:
                raise BindRefused(answer.command_status)
        except BaseException:
            self.close("bind failed")
            raise
        self.state = "bound"
        self._tasks.append(asyncio.create_task(self._keepalive(), name=f"smpp-{self.label}-keepalive"))

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        context = ssl.create_default_context(cafile=self._tls_ca or None)
        if not self._tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self.close_reason

    async def unbind(self, timeout_s: float) -> None:
        """Say goodbye (unbind, wait for unbind_resp at most ``timeout_s``) and close."""
        if self.state == "bound":
            with contextlib.suppress(SessionLost, TimeoutError, OSError):
                await self.request(P.Pdu(P.UNBIND), timeout_s)
        self.close("unbound")
        await self.drain_handlers(timeout_s)

    async def drain_handlers(self, timeout_s: float) -> None:
        """Wait for deliver_sm handlers still storing what they received (they are never cancelled)."""
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=timeout_s)

    def close(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.state = "down"
        self.close_reason = reason
        self._closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(SessionLost(reason))
        self._pending.clear()
        if self._writer is not None:
            if self._outgoing:  # answers queued in this turn (an unbind_resp, deliver_sm_resp) still go
                data, self._outgoing = b"".join(self._outgoing), []
                with contextlib.suppress(Exception):
                    self._writer.write(data)
            self._writer.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    # -- requests --------------------------------------------------------------------------------

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    def send(self, request: P.Pdu) -> asyncio.Future[P.Pdu]:
        """Number and write ``request``; the future resolves with its response (or SessionLost)."""
        if self._writer is None or self._closed.is_set():
            raise SessionLost(self.close_reason or "not connected")
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        request.sequence = self._sequence
        future: asyncio.Future[P.Pdu] = asyncio.get_running_loop().create_future()
        self._pending[request.sequence] = future
        self._write(P.encode(request))
        return future

    async def answer_within(self, future: asyncio.Future[P.Pdu], timeout_s: float) -> P.Pdu:
        """The response ``send`` promised, or TimeoutError after ``timeout_s``. Unlike wait_for, the
        promise stays pending on a time-out (a late response is still matched), and a cancelled
        caller does not cancel it; and it costs one timer and one callback per submit."""
        if not future.done():
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()

            def wake(_: object = None) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            future.add_done_callback(wake)
            timer = loop.call_later(timeout_s, wake)
            try:
                await waiter
            finally:
                timer.cancel()
                future.remove_done_callback(wake)
            if not future.done():
                raise TimeoutError
        return future.result()

    async def request(self, request: P.Pdu, timeout_s: float) -> P.Pdu:
        future = self.send(request)
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(request.sequence, None)

    def _answer(self, answer: P.Pdu) -> None:
        if self._writer is not None and not self._closed.is_set():
            self._write(P.encode(answer))

    def _write(self, data: bytes) -> None:
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(data)

    def _flush(self) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if self._writer is not None and not self._closed.is_set():
            self._writer.write(data)

    # -- the two loops ---------------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        reason = "connection closed by the SMSC"
        try:
            while True:
                try:
                    incoming = await P.read_pdu(reader)
                except P.PduError as error:
                    if not error.command_id:
                        reason = f"unreadable PDU: {error.message}"
                        return
                    self._refuse(error.command_id, error.sequence, error.command_status)
                    continue
                self._dispatch(incoming)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ssl.SSLError) as error:
            reason = f"connection lost ({error.__class__.__name__})"
        finally:
            self.close(reason)

    def _dispatch(self, incoming: P.Pdu) -> None:
        if incoming.is_response:  # generic_nack included: it answers the request with its sequence
            future = self._pending.pop(incoming.sequence, None)
            if future is not None and not future.done():
                future.set_result(incoming)
        elif incoming.command_id == P.ENQUIRE_LINK:
            self._answer(P.response(incoming))
        elif incoming.command_id == P.UNBIND:
            self._answer(P.response(incoming))
            self.close("unbound by the SMSC")
        elif incoming.command_id == P.DELIVER_SM and self._on_deliver is not None:
            task = asyncio.create_task(self._deliver(incoming), name=f"smpp-{self.label}-deliver")
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        else:
            self._refuse(incoming.command_id, incoming.sequence, P.ESME_RINVCMDID)

    def _refuse(self, command_id: int, sequence: int, status: int) -> None:
        if command_id & P.RESPONSE_BIT:
            return  # never answer a response
        answer_id = command_id | P.RESPONSE_BIT
        if answer_id not in P.LAYOUTS or status == P.ESME_RINVCMDID:
            answer_id = P.GENERIC_NACK
        self._answer(P.Pdu(answer_id, status, sequence))

    async def _deliver(self, incoming: P.Pdu) -> None:
        assert self._on_deliver is not None
        try:
            status = await self._on_deliver(incoming)
        except Exception:
            log.exception("smpp %s: a deliver_sm could not be handled", self.label)
            status = P.ESME_RX_T_APPN
        self._answer(P.response(incoming, status, message_id=""))

    async def _keepalive(self) -> None:
        interval = self.enquire_link_s
        while True:
            sent_at = time.monotonic()
            try:
                await self.request(P.Pdu(P.ENQUIRE_LINK), interval)
            except TimeoutError:
                log.warning("smpp %s: no answer to enquire_link within %.1f s; reconnecting", self.label, interval)
                self.close("peer not answering enquire_link")
                return
            except SessionLost:
                return
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - sent_at)))
