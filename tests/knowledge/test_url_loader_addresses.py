"""The URL loader's address check: only globally routable addresses, including every IPv6 form that carries an
IPv4 address (mapped, compatible, 6to4, NAT64), unless an address is explicitly allowed."""

from __future__ import annotations

import ipaddress

import pytest

from plait.knowledge.errors import SourceNotAllowed
from plait.knowledge.loaders.url import UrlLoader
from plait.tools.net_guard import is_public

REFUSED = {
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "127.0.0.1": "loopback",
    "169.254.169.254": "link-local (cloud metadata)",
    "100.64.0.1": "CGNAT shared space",
    "0.0.0.0": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "192.0.2.1": "documentation",
    "198.18.0.1": "benchmarking",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fec0::1": "site-local (deprecated)",
    "fc00::1": "unique-local",
    "fd12:3456::1": "unique-local",
    "ff02::1": "multicast",
    "ff0e::1": "global-scope multicast",
    "2001:db8::1": "documentation",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
    "100::1": "discard-only",
    "::ffff:127.0.0.1": "IPv4-mapped loopback",
    "::ffff:10.0.0.1": "IPv4-mapped private",
    "::127.0.0.1": "IPv4-compatible loopback",
    "::10.0.0.1": "IPv4-compatible private",
    "::8.8.8.8": "IPv4-compatible (deprecated, even of a public address)",
    "64:ff9b::7f00:1": "NAT64 of loopback",
    "64:ff9b::10.0.0.1": "NAT64 of private",
    "64:ff9b::169.254.169.254": "NAT64 of link-local",
    "64:ff9b::100.64.0.1": "NAT64 of CGNAT",
    "64:ff9b:1::808:808": "local-use NAT64 prefix",
    "2002:7f00:1::1": "6to4 of loopback",
    "2002:a00:1::1": "6to4 of private",
    "2002:c0a8:101::1": "6to4 of private",
    "2002:a9fe:a9fe::1": "6to4 of link-local",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED, ids=[f"{a} {why}" for a, why in REFUSED.items()])
def test_non_public_addresses_are_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public(ip)
    assert not UrlLoader().guard.allows(ip)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_an_explicitly_allowed_network_still_passes() -> None:
    loader = UrlLoader(allowed_networks=["10.0.0.0/8", "64:ff9b::/96"])
    assert loader.guard.allows(ipaddress.ip_address("10.1.2.3"))
    assert loader.guard.allows(ipaddress.ip_address("::ffff:10.1.2.3"))  # the mapped form of an allowed address
    assert loader.guard.allows(ipaddress.ip_address("64:ff9b::7f00:1"))
    assert not loader.guard.allows(ipaddress.ip_address("2002:a00:1::1"))  # only what is listed
    assert UrlLoader(allow_private=True).guard.allows(ipaddress.ip_address("fec0::1"))


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::127.0.0.1]", "[fec0::1]", "100.64.0.1"])
async def test_a_url_with_such_an_address_is_refused_before_any_connection(host: str) -> None:
    with pytest.raises(SourceNotAllowed, match="not public; set allow_private or allowed_networks"):
        await UrlLoader(timeout=5).load(f"http://{host}/page")
