"""How the API process and its delivery worker (another process) talk: small Unix sockets.

**Wake.** The API process commits PENDING rows; the worker (``mecm worker``, started by ``mecm serve``)
delivers them. Polling the database alone would add its interval to every message's delivery, so
the API also sends a one-byte datagram to the worker's wake socket after each commit that queued
work. It is a hint, never the record: a datagram that is lost (no worker yet, a full buffer) costs
at most one idle poll (Dispatcher's ``_IDLE_POLL_S``), because the rows are already committed.

The same kind of datagram wakes the worker's outbox ("jobs": a webhook of an MO fired through the
API) and, the other way, the API's view of opt-outs ("optouts": a STOP from a carrier).

**Status.** The worker owns the carrier connectors, so ``GET /admin/carriers/status`` on the API asks
it: the worker answers each connection to its status socket with one JSON document and closes.

Both sockets are addressed by the database they serve (its file, or its URL without the password):
abstract Unix sockets on Linux (no file to clean up, no path-length limit), socket files under the
var directory elsewhere. They reach the processes of one machine: on PostgreSQL, processes on other
machines poll (the dispatcher's idle poll, the catalog refresh).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_STATUS_TIMEOUT_S = 5.0


def link_key(database_url: str) -> str:
    """What names one database for the links: its file's path, or its URL without credentials."""
    if database_url.startswith("sqlite:///"):
        return str(Path(database_url[len("sqlite:///"):]).resolve())
    scheme, _, rest = database_url.partition("://")
    return f"{scheme.split('+')[0]}://{rest.rpartition('@')[2]}"


def address(key: str, purpose: str, var_dir: Path) -> str:
    """The address of the ``purpose`` socket ("wake", "jobs", "optouts", "status") for the database
    named by ``key`` (``link_key``)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    if sys.platform == "linux":
        return f"\0mecm-{purpose}-{digest}"
    return str(var_dir / f"mecm-{purpose}-{digest}.sock")


def _unlink(path: str) -> None:
    if not path.startswith("\0"):
        Path(path).unlink(missing_ok=True)


class WakeSender:
    """API side. ``wake()`` may be called once per accepted message: the calls of one event-loop
    turn share one datagram, and datagrams go at most every ``min_interval_s`` (a wake-up waits at
    most that long; under load a datagram per loop turn cost the API 4% of its time, profiled)."""

    def __init__(self, address: str, min_interval_s: float = 0.002) -> None:
        self._address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._scheduled = False
        self._min_interval_s = min_interval_s
        self._last_sent = 0.0

    def wake(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_running_loop()
            wait = self._last_sent + self._min_interval_s - loop.time()
            if wait > 0:
                loop.call_later(wait, self._send)
            else:
                loop.call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        self._last_sent = asyncio.get_running_loop().time()
        try:
            self._socket.sendto(b"!", self._address)
        except OSError:
            pass  # no worker listening, or its buffer is full: it polls, or is already awake

    def close(self) -> None:
        self._socket.close()


class WakeListener:
    """Worker side: calls ``on_wake`` whenever datagrams arrived (many datagrams, one call)."""

    def __init__(self, address: str, on_wake: Callable[[], None]) -> None:
        self._address = address
        self._on_wake = on_wake
        self._socket: socket.socket | None = None

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _unlink(self._address)  # a socket file left by a worker that crashed
        sock.bind(self._address)
        sock.setblocking(False)
        self._socket = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)

    def _drain(self) -> None:
        assert self._socket is not None
        try:
            while self._socket.recv(64):
                pass
        except BlockingIOError:
            pass
        self._on_wake()

    def close(self) -> None:
        if self._socket is None:
            return
        asyncio.get_running_loop().remove_reader(self._socket.fileno())
        self._socket.close()
        self._socket = None
        _unlink(self._address)


class StatusServer:
    """Worker side: answers every connection with ``snapshot()`` as JSON, then closes it."""

    def __init__(self, address: str, snapshot: Callable[[], Any]) -> None:
        self._address = address
        self._snapshot = snapshot
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        _unlink(self._address)
        self._server = await asyncio.start_unix_server(self._answer, path=self._address)

    async def _answer(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(json.dumps(self._snapshot()).encode())
            await writer.drain()
        except Exception:  # noqa: BLE001 - a status reader that went away must not hurt delivery
            log.exception("answering a status request failed")
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            _unlink(self._address)


async def read_status(address: str) -> Any | None:
    """API side: the worker's status document, or None when no worker answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        # Connected by hand: uvloop's open_unix_connection refuses abstract addresses (EINVAL).
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, address), _STATUS_TIMEOUT_S)
        reader, writer = await asyncio.open_unix_connection(sock=sock)
    except (OSError, TimeoutError):
        sock.close()
        return None
    try:
        return json.loads(await asyncio.wait_for(reader.read(), _STATUS_TIMEOUT_S))
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        writer.close()
