"""The HTTP protocol every API process runs: uvicorn's httptools protocol, with bounds on what one
client may make the process hold.

uvicorn's httptools protocol bounds neither a request's head (httptools has no limit: a 100 KB
header and 5,000 headers were accepted) nor the time a client takes: it drops a connection only when
it idles *after* a response, so one that connects and sends nothing, or sends its head a byte at a
time (slowloris), was held for ever. This subclass adds, per connection:

- **Head bounds.** The request target at most ``max_url_bytes``, the header lines at most
  ``max_header_bytes`` together, at most ``max_headers`` of them. A request over a bound is answered
  in the API's envelope (INVALID_PARAMETER naming ``url`` or ``headers``; HTTP 200, or 414/431 with
  ``http_error_codes``), elsewhere by a 414/431 in the admin API's JSON, and its connection is closed. An
  over-long URL is answered once the headers are in, so that ``Accept: application/json`` is seen.
- **A read deadline.** A client has ``read_timeout_s`` from connecting, or from its next request's
  first byte, to send the whole request (head and body); otherwise the connection is closed without
  an answer. A connection idle after a response is closed by uvicorn's keep-alive timeout.
- **A connection cap.** Past ``max_connections``, a new connection closes one that waits on its
  client (idle, or still sending its request), so that idle and slow connections cannot keep a
  prompt client out; when every connection has a request in hand, the new one is closed instead.

Cost per request on the hot path: a few attribute updates and comparisons (per header, per URL
piece); a timer is armed only when a request does not arrive whole in one read, and per connection.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mecm.api.ogangi import PREFIX
from mecm.api.render import render_json, render_xml
from mecm.config import Settings
from mecm.errors import InvalidParameter
from mecm.logs import request_id_of

_API_PREFIX = PREFIX.encode()
_METHOD_NAME_MAX = 64  # an <input> longer than any method name is not echoed back


@dataclass(frozen=True)
class HttpLimits:
    max_url_bytes: int
    max_header_bytes: int
    max_headers: int
    read_timeout_s: float
    max_connections: int
    http_error_codes: bool

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(settings.http_max_url_bytes, settings.http_max_header_bytes, settings.http_max_headers,
                   settings.http_read_timeout_s, settings.http_max_connections, settings.http_error_codes)


@dataclass(frozen=True)
class Refusal:
    """Why a request's head is refused: the part named in the answer, the reason, the HTTP status."""

    part: str
    reason: str
    http_status: int


class _HeadRefused(Exception):
    """Raised in a parser callback to stop parsing; httptools wraps it in an HttpParserCallbackError,
    on which uvicorn calls ``send_400_response`` (answered here in the envelope instead)."""


class BoundedHttpProtocol(HttpToolsProtocol):
    """One per connection; uvicorn builds it with ``functools.partial(BoundedHttpProtocol, limits=...)``."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        # The most a head may take on the wire: the URL, the header lines, and some room for the
        # method, the version, line ends and spaces around values, which neither bound counts.
        self._head_cap = limits.max_url_bytes + limits.max_header_bytes + 1024
        self._deadline: asyncio.TimerHandle | None = None
        self._reading = False  # a request has begun and its body is not complete
        self._in_head = False  # ... and its head is not complete
        self._header_bytes = 0
        self._head_read_bytes = 0  # bytes of reads that began and ended inside one head
        self._refusal: Refusal | None = None
        self._refused = False  # answered: what the client still sends is read and dropped

    # -- connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            transport.close()
            return
        self._arm_deadline(self.limits.read_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def waits_on_client(self) -> bool:
        """Idle, or still receiving a request: closing it loses no request in hand."""
        return not self.transport.is_closing() and (
            self._reading or self.cycle is None or self.cycle.response_complete)

    def _make_room(self) -> bool:
        """Close one connection that waits on its client; False when there is none."""
        for other in self.connections:
            if other is not self and isinstance(other, BoundedHttpProtocol) and other.waits_on_client():
                other.transport.close()
                return True
        return False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the answer is sent: drain the rest until the client closes, or the deadline
        was_in_head = self._in_head
        super().data_received(data)
        if self._refused:
            return
        if was_in_head and self._in_head:
            # httptools keeps a header line in a buffer of its own until the line ends, so a header
            # sent without an end is bounded here, by the reads that fell wholly inside the head.
            self._head_read_bytes += len(data)
            if self._head_read_bytes > self._head_cap:
                self._refusal = Refusal("headers", f"larger than {self.limits.max_header_bytes} bytes", 431)
                self._answer_refusal()
                return
        if self._deadline is None and (self._reading or self.cycle is None or self.cycle.response_complete) \
                and not self.transport.is_closing():
            # A request arrived in part, or bytes that begin none (stray CRLFs cancel uvicorn's
            # keep-alive timer): the client has read_timeout_s to complete it.
            self._arm_deadline(self.limits.read_timeout_s)

    # -- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = self._in_head = True
        self._header_bytes = self._head_read_bytes = 0
        self._refusal = None

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.limits.max_url_bytes and self._refusal is None:
            self._refusal = Refusal("url", f"longer than {self.limits.max_url_bytes} bytes", 414)
        if len(self.url) > self._head_cap:
            raise _HeadRefused()  # too long to wait for the headers: answered at once

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_bytes > self.limits.max_header_bytes:
            self._refusal = Refusal("headers", f"larger than {self.limits.max_header_bytes} bytes", 431)
            raise _HeadRefused()
        if len(self.headers) >= self.limits.max_headers:
            self._refusal = Refusal("headers", f"more than {self.limits.max_headers}", 431)
            raise _HeadRefused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refusal is not None:
            raise _HeadRefused()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading = False
        self._cancel_deadline()
        super().on_message_complete()

    # -- answers -------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)  # not ours: malformed HTTP, uvicorn's plain 400
        else:
            self._answer_refusal()

    def _answer_refusal(self) -> None:
        assert self._refusal is not None
        self._refused = True
        self._reading = self._in_head = False
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined request's response is under way: nothing can follow
            return
        self.transport.write(refusal_response(self._refusal, self.url, self.headers, self.limits.http_error_codes))
        # Close our side and read on until the client closes (or the deadline): closing at once with
        # its unread bytes in our buffer would reset the connection and lose the answer on its way.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._cancel_deadline()
        self._arm_deadline(self.limits.read_timeout_s)

    # -- the deadline --------------------------------------------------------------------------

    def _arm_deadline(self, seconds: float) -> None:
        self._deadline = self.loop.call_later(seconds, self._deadline_passed)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        self.transport.close()


def refusal_response(refusal: Refusal, url: bytes, headers: list[tuple[bytes, bytes]], error_codes: bool) -> bytes:
    """The whole HTTP response refusing a request whose head is too large, with ``connection: close``:
    the API's envelope under /rest/api/ (SPEC section 4), the admin API's JSON error elsewhere."""
    error = InvalidParameter(refusal.part, refusal.reason)
    request_id = request_id_of(headers).encode()
    if url.startswith(_API_PREFIX):
        wants_json = any(name == b"accept" and b"application/json" in value for name, value in headers)
        method = _method_of(url)
        if wants_json:
            body = render_json(method, error.status, error.description, [])
            content_type = b"application/json"
        else:
            body = render_xml(method, error.status, error.description, [])
            content_type = b"application/xml; charset=utf-8"
        status = refusal.http_status if error_codes else 200
        extra = [(b"x-mecm-status", error.status.encode())]
    else:
        body = json.dumps({"error": error.description, "parameter": error.name}).encode()  # as /admin/api
        content_type, status, extra = b"application/json", refusal.http_status, []
    head = [STATUS_LINE[status]]
    for name, value in [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                        *extra, (b"x-request-id", request_id), (b"connection", b"close")]:
        head += [name, b": ", value, b"\r\n"]
    return b"".join([*head, b"\r\n", body])


def _method_of(url: bytes) -> str:
    """The method a refused /rest/api/ URL names, for the envelope's ``input`` (as ogangi.py does)."""
    segments = url[len(_API_PREFIX):].split(b"?", 1)[0].split(b"/", 2)
    if segments[0] == b"tools" and len(segments) > 1:
        segments = segments[1:]
    name = segments[0]
    return name.decode("latin-1") if len(name) <= _METHOD_NAME_MAX else "unknown"
