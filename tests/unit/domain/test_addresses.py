"""The outbound policy: which addresses a webhook may go to, in every spelling of them."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from mecm.domain.addresses import literal, parse_allow, refusal


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),  # decimal
    ("0x7f.0.0.1", "127.0.0.1"),  # hex
    ("0X7F000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),  # octal
    ("127.1", "127.0.0.1"),  # short: the last part fills the rest
    ("10.1", "10.0.0.1"),
    ("169.254.43518", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("10.0.0.1.", "10.0.0.1"),  # one trailing dot
    ("[::1]", "::1"),
    ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1"),
    ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ("1.16777215", "1.255.255.255"),
])
def test_addresses_are_read_in_every_spelling_a_resolver_accepts(host: str, address: str) -> None:
    assert literal(host) == ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "localhost", "0x", "08.0.0.1", "1.2.3.4.5", "256.1",
                                  "1.16777216", "4294967296", "10.0.0.1..", "-1", "1e3", ""])
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert literal(host) is None


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("127.255.255.254", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("10.0.0.1", "10.0.0.1 is a private address (RFC 1918)"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.255", "CGNAT"),
    ("169.254.169.254", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::", ":: is an unspecified address"),
    ("::1", "::1 is a loopback address"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1 is 127.0.0.1, a loopback address"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "10.0.0.1, a private address"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::127.0.0.1", "carries 127.0.0.1, a loopback address"),  # IPv4-compatible
    ("::10.0.0.1", "carries 10.0.0.1"),
    ("64:ff9b::10.0.0.1", "carries 10.0.0.1"),  # NAT64
    ("2002:a9fe:a9fe::1", "carries 169.254.169.254"),  # 6to4
    ("2001::1", "Teredo"),
    ("::8.8.8.8", "reserved address (outside global unicast"),  # IPv4-compatible is deprecated
    ("4000::1", "reserved"),
])
def test_internal_addresses_are_refused_with_a_reason_naming_them(address: str, reason: str) -> None:
    why = refusal(ip_address(address))
    assert why is not None and reason in why


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1",
                                     "192.169.0.1", "223.255.255.255", "2606:4700:4700::1111",
                                     "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ip_address(address)) is None


def test_the_allow_list_opens_its_networks_only() -> None:
    allow = parse_allow(" 127.0.0.1/32 , 10.1.0.0/16,::1/128,")
    assert refusal(ip_address("127.0.0.1"), allow) is None
    assert refusal(ip_address("::ffff:127.0.0.1"), allow) is None  # the same host, IPv4-mapped
    assert refusal(ip_address("10.1.200.3"), allow) is None
    assert refusal(ip_address("::1"), allow) is None
    assert "loopback" in (refusal(ip_address("127.0.0.2"), allow) or "")
    assert "private" in (refusal(ip_address("10.2.0.1"), allow) or "")
    assert "link-local" in (refusal(ip_address("169.254.169.254"), allow) or "")
    assert parse_allow("") == ()


@pytest.mark.parametrize("text", ["localhost", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/8;192.168.0.0/16"])
def test_an_allow_list_entry_that_is_not_a_network_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not a network in CIDR form"):
        parse_allow(f"127.0.0.1/32,{text}")
