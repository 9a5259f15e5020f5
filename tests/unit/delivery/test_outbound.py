"""The webhook client's guard: it checks the address it is about to connect to, then connects to that
address and no other.

Name resolution is replaced in these tests (a table of names), so a refusal is shown to happen
before any connection; the only connections made are to a server of the test's own on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from mecm.delivery import webhooks
from mecm.delivery.outbound import guarded_client
from mecm.domain.addresses import Address, literal, parse_allow
from mecm.errors import OutboundRefused
from tests.support.databases import no_database
from tests.support.tls import make_certificates

pytestmark = no_database


@dataclass
class Names:
    """A resolver answering from a table; an entry that is a list of lists answers each call in turn."""

    table: dict[str, list[Any]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, _port: int) -> list[Address]:
        self.asked.append(host)
        answers = self.table[host]
        if answers and isinstance(answers[0], list):
            answers = answers[min(self.asked.count(host), len(answers)) - 1]
        return [ip_address(a) for a in answers]


class Connections(httpcore.AsyncNetworkBackend):
    """The real network, with every connection it is asked for written down."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, **options: Any) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        return await self._real.connect_tcp(host, port, **options)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)


@dataclass
class Peer:
    port: int
    requests: list[bytes] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


@contextlib.asynccontextmanager
async def peer(answer: bytes, tls: ssl.SSLContext | None = None) -> AsyncIterator[Peer]:
    """An HTTP/1.1 server on 127.0.0.1 giving every request the same raw ``answer``."""
    found = Peer(0)
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: found.sni.append(name)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        found.requests.append(head + await reader.readexactly(length))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
LOOPBACK = parse_allow("127.0.0.1/32")


async def post(url: str, names: Names, connections: Connections, allow: Iterable[Any] = (), timeout: float = 5,
               verify: ssl.SSLContext | bool = True) -> webhooks.Answer:
    async with guarded_client(allow, timeout, resolve=names, connector=connections, verify=verify) as client:
        return await webhooks.post(client, url, b"{}", secret="s", event="mo", delivery_id=1)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://10.0.0.1/mo", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::ffff:10.0.0.1]/", "10.0.0.1, a private address"),
    ("http://[::ffff:a9fe:a9fe]/", "169.254.169.254, a link-local address"),
    ("http://2130706433/", "127.0.0.1 is a loopback address"),
    ("http://0x7f.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://0177.0.1/", "127.0.0.1 is a loopback address"),
    ("http://127.1:8080/", "127.0.0.1 is a loopback address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://100.100.100.200/", "CGNAT"),
    ("http://metadata.test/", "169.254.169.254 is a link-local address"),
    ("http://intranet.test/", "192.168.1.10 is a private address"),
    ("http://six.test/", "fd00::5 is a private address"),
    ("http://mixed.test/", "10.0.0.1 is a private address"),  # one public answer does not save it
    ("http://loop.test/", "127.0.0.1 is a loopback address"),
])
async def test_an_internal_address_is_refused_before_any_connection(url: str, reason: str) -> None:
    names = Names({"metadata.test": ["169.254.169.254"], "intranet.test": ["192.168.1.10"],
                   "six.test": ["2606:4700::1", "fd00::5"], "mixed.test": ["8.8.8.8", "10.0.0.1"],
                   "loop.test": ["127.0.0.1"]})
    connections = Connections()
    with pytest.raises(OutboundRefused) as refused:
        await post(url, names, connections)
    assert reason in refused.value.reason
    assert "outbound_allow" in str(refused.value)
    assert connections.hosts == []  # nothing was connected to, not even the public address of mixed.test
    host = httpx.URL(url).host
    assert names.asked == ([] if literal(host) else [host])  # an address in any spelling is not resolved


async def test_an_allowed_name_is_connected_to_at_the_checked_address_with_its_own_name_as_host() -> None:
    names = Names({"hooks.test": ["127.0.0.1"]})
    connections = Connections()
    async with peer(OK) as server:
        answer = await post(f"http://hooks.test:{server.port}/mo", names, connections, LOOPBACK)
    assert answer == webhooks.Answer(True, text="hi")
    assert connections.hosts == ["127.0.0.1"]  # the address checked, not the name again
    assert f"\r\nhost: hooks.test:{server.port}\r\n".encode() in server.requests[0].lower()


async def test_each_new_connection_resolves_and_checks_again() -> None:
    """DNS rebinding: the name answered an allowed address, then an internal one. The first
    connection goes to the address checked; the next is refused before it is made."""
    names = Names({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    connections = Connections()
    async with peer(OK) as server:  # it closes each connection: the second request needs a new one
        url = f"http://rebind.test:{server.port}/mo"
        async with guarded_client(LOOPBACK, 5, resolve=names, connector=connections) as client:
            first = await webhooks.post(client, url, b"{}", secret="s", event="mo", delivery_id=1)
            with pytest.raises(OutboundRefused, match="10.0.0.1 is a private address"):
                await webhooks.post(client, url, b"{}", secret="s", event="mo", delivery_id=2)
    assert first.ok and names.asked == ["rebind.test", "rebind.test"]
    assert connections.hosts == ["127.0.0.1"] and len(server.requests) == 1


async def test_tls_goes_to_the_checked_address_but_keeps_the_name_for_sni_and_verification(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(certificates.cert, certificates.key)
    trusted = ssl.create_default_context(cafile=str(certificates.ca))
    names = Names({"localhost": ["127.0.0.1"]})
    connections = Connections()
    async with peer(OK, served) as server:
        answer = await post(f"https://localhost:{server.port}/mo", names, connections, LOOPBACK, verify=trusted)
    assert answer.ok and connections.hosts == ["127.0.0.1"]
    assert server.sni == ["localhost"]  # an IP address would have sent no SNI at all


async def test_a_redirect_is_not_followed() -> None:
    moved = b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/\r\nContent-Length: 0\r\n\r\n"
    connections = Connections()
    async with peer(moved) as server:
        answer = await post(f"http://127.0.0.1:{server.port}/mo", Names({}), connections, LOOPBACK)
    assert answer == webhooks.Answer(False, error="HTTP 302")
    assert connections.hosts == ["127.0.0.1"] and len(server.requests) == 1


async def test_a_name_that_does_not_resolve_or_resolves_too_slowly_is_an_ordinary_failure_to_retry() -> None:
    async def unknown(host: str, port: int) -> list[Address]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def stuck(host: str, port: int) -> list[Address]:
        await asyncio.Event().wait()
        return []

    connections = Connections()
    async with guarded_client((), 5, resolve=unknown, connector=connections) as client:
        answer = await webhooks.post(client, "http://nowhere.test/", b"{}", secret="s", event="mo", delivery_id=1)
    assert not answer.ok and "cannot resolve nowhere.test" in answer.error
    async with guarded_client((), 0.05, resolve=stuck, connector=connections) as client:
        answer = await webhooks.post(client, "http://slow.test/", b"{}", secret="s", event="mo", delivery_id=1)
    assert not answer.ok and answer.error.startswith("ConnectTimeout")
    assert connections.hosts == []
