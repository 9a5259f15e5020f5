"""Which addresses mecm may send an outbound request to: the policy against SSRF.

A webhook or status-callback URL is chosen by whoever configures a campaign or a workspace, and the
worker that posts to it sits inside the operator's network. Left alone, such a URL can reach what
only that network should reach: a database's HTTP port on loopback, a router's admin page, a cloud
metadata service at 169.254.169.254 (and a ``text/plain`` answer would even go out as an SMS).

So an outbound request goes only to a *public* address. Refused, with the reason: loopback,
unspecified, private (RFC 1918, fc00::/7), shared CGNAT (100.64.0.0/10), link-local, multicast,
and the reserved and documentation ranges, in IPv4 or IPv6, including IPv6 forms that carry one of
those IPv4 addresses (``::ffff:10.0.0.1``, ``::10.0.0.1``, NAT64 ``64:ff9b::``, 6to4 ``2002::``).
The operator may allow some of them with the setting ``outbound_allow`` (a comma list of CIDRs), for
a receiver of their own on the same host or network.

The functions here are pure: ``literal`` reads an address written in a URL's host in any spelling a
resolver accepts (``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``, ``127.1``), and ``refusal`` says
why an address is refused, or None. Names are resolved, and the answer checked, at connection time
(delivery/outbound.py): what a name resolves to can change between configuration and use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_PRIVATE = "a private address (RFC 1918)"
_DOCUMENTATION = "a reserved address (documentation)"

# Checked in order; the first network that holds the address names the reason.
_REFUSED_V4: tuple[tuple[IPv4Network, str], ...] = tuple((IPv4Network(net), why) for net, why in (
    ("0.0.0.0/8", "an unspecified address (0.0.0.0/8, 'this network')"),
    ("10.0.0.0/8", _PRIVATE),
    ("100.64.0.0/10", "a shared address (CGNAT, RFC 6598)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", _PRIVATE),
    ("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
    ("192.0.2.0/24", _DOCUMENTATION),
    ("192.88.99.0/24", "a reserved address (6to4 relay anycast)"),
    ("192.168.0.0/16", _PRIVATE),
    ("198.18.0.0/15", "a reserved address (benchmarking)"),
    ("198.51.100.0/24", _DOCUMENTATION),
    ("203.0.113.0/24", _DOCUMENTATION),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4, with the broadcast address)"),
))

_REFUSED_V6: tuple[tuple[IPv6Network, str], ...] = tuple((IPv6Network(net), why) for net, why in (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a private address (local-use NAT64, RFC 8215)"),
    ("100::/64", "a reserved address (discard-only)"),
    ("2001::/23", "a reserved address (IETF protocol assignments, Teredo)"),
    ("2001:db8::/32", _DOCUMENTATION),
    ("3fff::/20", _DOCUMENTATION),
    ("fc00::/7", "a private address (unique local, fc00::/7)"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a reserved address (site-local)"),
    ("ff00::/8", "a multicast address"),
))

# Every public IPv6 unicast address is in 2000::/3; outside it only the NAT64 prefix (an IPv4
# address reached through a translator, checked as that IPv4 address) leads anywhere public.
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
_COMPATIBLE = IPv6Network("::/96")  # deprecated IPv4-compatible ::a.b.c.d
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d


def parse_allow(text: str) -> tuple[Network, ...]:
    """The setting ``outbound_allow``: CIDRs separated by commas ("" allows nothing more).
    ValueError names the entry that is not a network."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as error:
            raise ValueError(f"{entry!r} is not a network in CIDR form ({error})") from None
    return tuple(networks)


def literal(host: str) -> Address | None:
    """The address a URL's host names when it is an address (not a name) in any spelling a
    resolver reads as one: dotted, IPv6 with or without brackets, and the BSD ``inet_aton`` forms
    (``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``, ``127.1``). One trailing dot is ignored. None
    for a name."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    return _inet_aton(host)


_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def _inet_aton(host: str) -> IPv4Address | None:
    """BSD ``inet_aton``: one to four parts, each decimal, ``0x`` hex or ``0`` octal; the last part
    fills the bytes left (``127.1`` is 127.0.0.1, ``2130706433`` is 127.0.0.1)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(part) for part in parts):
        return None
    values = [int(part, 16) if part[:2].lower() == "0x" else int(part, 8) if part.startswith("0")
              else int(part) for part in parts]
    last_bits = 8 * (5 - len(values))
    if any(value > 0xFF for value in values[:-1]) or values[-1] >= 1 << last_bits:
        return None
    number = 0
    for value in values[:-1]:
        number = number << 8 | value
    return IPv4Address(number << last_bits | values[-1])


def refusal(address: Address, allow: Iterable[Network] = ()) -> str | None:
    """Why a request may not go to ``address`` (a sentence naming it), or None when it may: a
    public address, or one inside a network of ``allow``. An IPv4-mapped address (``::ffff:a.b.c.d``,
    which the system connects to as IPv4) is judged as its IPv4 address, the allow-list included."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        mapped = address.ipv4_mapped
        return None if refusal(mapped, allow) is None else f"{address} is {mapped}, {_what_v4(mapped)}"
    if any(address.version == network.version and address in network for network in allow):
        return None
    if isinstance(address, IPv4Address):
        what = _what_v4(address)
        return None if what is None else f"{address} is {what}"
    return _why_v6(address)


def _what_v4(address: IPv4Address) -> str | None:
    for network, what in _REFUSED_V4:
        if address in network:
            return what
    return None


def _why_v6(address: IPv6Address) -> str | None:
    for network, what in _REFUSED_V6:
        if address in network:
            return f"{address} is {what}"
    embedded = _embedded_v4(address)
    if embedded is not None and (what := _what_v4(embedded)) is not None:
        return f"{address} carries {embedded}, {what}"
    if address not in _GLOBAL_UNICAST and address not in _NAT64:
        return f"{address} is a reserved address (outside global unicast 2000::/3)"
    return None


def _embedded_v4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries (NAT64, 6to4, IPv4-compatible, SIIT)."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _COMPATIBLE or address in _TRANSLATED:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None
