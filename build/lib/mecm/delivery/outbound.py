"""The HTTP client for webhooks and status callbacks: it connects only where the outbound policy allows.

A URL's host is checked when the URL is configured if it is written as an address, but a name can
resolve to anything, and to something else by the time it is used (DNS rebinding). So the check that
counts is made here, at every new connection, by the network backend httpcore connects through:

1. the host is read as an address in any spelling (domain/addresses.literal), or else resolved;
2. every address it resolves to is checked (domain/addresses.refusal): if any one is refused, the
   request is refused (OutboundRefused) before any connection is made;
3. the connection is made to the checked address itself, not to the name (no second resolution).

httpcore still has the name: the ``Host`` header comes from the URL, and TLS sends the name as SNI
and verifies the certificate against it. The client follows no redirects (a 3xx answer is a failure
like a 5xx) and ignores the proxy environment variables (a proxy would make the connection, and the
check, to itself).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio
import httpcore
import httpx

from mecm.domain.addresses import Address, Network, literal, refusal
from mecm.errors import OutboundRefused

Resolver = Callable[[str, int], Awaitable[list[Address]]]

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults


async def resolve_host(host: str, port: int) -> list[Address]:
    """The system resolver's addresses for ``host``, in its order, each once."""
    found: list[Address] = []
    for *_, sockaddr in await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address through ``connector``."""

    def __init__(self, allow: Iterable[Network], resolve: Resolver = resolve_host,
                 connector: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._allow = tuple(allow)
        self._resolve = resolve
        self._connector = connector or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:
            reason = refusal(address, self._allow)
            if reason is not None:  # one refused address refuses the name: no choosing among them
                raise OutboundRefused(host, reason)
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # in the resolver's order, as a plain connect would
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await self._connector.connect_tcp(str(address), port, timeout=left,
                                                         local_address=local_address, socket_options=socket_options)
            except httpcore.ConnectError as error:
                failure = error
        assert failure is not None
        raise failure

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[Address]:
        written = literal(host)
        if written is not None:
            return [written]
        try:
            with anyio.fail_after(timeout):
                found = await self._resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} s") from None
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return found

    async def sleep(self, seconds: float) -> None:
        await self._connector.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, its connections made through GuardedBackend."""

    def __init__(self, allow: Iterable[Network], *, verify: ssl.SSLContext | bool = True,
                 resolve: Resolver = resolve_host, connector: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(verify=verify, trust_env=False, limits=_LIMITS)
        # httpx takes no network backend, so the pool it built is replaced by the same pool with
        # the guard as its backend (tests/unit/delivery/test_outbound.py shows it is the one used).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(allow, resolve, connector),
        )


def guarded_client(allow: Iterable[Network], timeout: float, *, verify: ssl.SSLContext | bool = True,
                   resolve: Resolver = resolve_host,
                   connector: httpcore.AsyncNetworkBackend | None = None) -> httpx.AsyncClient:
    """The client webhooks are posted with: the guard, no redirects, no proxy from the environment."""
    transport = GuardedTransport(allow, verify=verify, resolve=resolve, connector=connector)
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
