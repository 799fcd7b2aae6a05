"""What an IP address is for, and which hosts a provider target may name: the one table of
special-purpose ranges, read at registration (address literals in URLs) and when a
connection opens (every address a name resolves to), so both refuse the same addresses
(docs/architecture.md §6).

The ranges are IANA's special-purpose address registries (RFC 6890 and its updates):
https://www.iana.org/assignments/iana-ipv4-special-registry/ and
https://www.iana.org/assignments/iana-ipv6-special-registry/. Addresses that carry an IPv4
address inside an IPv6 one (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address, which
is where a packet to them ends up.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressUse(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_V4, _V6 = ipaddress.IPv4Network, ipaddress.IPv6Network
# First match wins. An IPv4 address in none of these is public; an IPv6 one is public only
# inside 2000::/3, the global unicast space (RFC 4291 §2.4).
RANGES: tuple[tuple[IpNetwork, AddressUse], ...] = (
    (_V4("0.0.0.0/32"), AddressUse.UNSPECIFIED),
    (_V4("0.0.0.0/8"), AddressUse.RESERVED),  # "this network" (RFC 791)
    (_V4("10.0.0.0/8"), AddressUse.PRIVATE),  # RFC 1918
    (_V4("100.64.0.0/10"), AddressUse.PRIVATE),  # shared address space (RFC 6598)
    (_V4("127.0.0.0/8"), AddressUse.LOOPBACK),  # RFC 1122
    (_V4("169.254.0.0/16"), AddressUse.LINK_LOCAL),  # RFC 3927; cloud metadata lives here
    (_V4("172.16.0.0/12"), AddressUse.PRIVATE),  # RFC 1918
    (_V4("192.0.0.0/24"), AddressUse.RESERVED),  # IETF protocol assignments (RFC 6890)
    (_V4("192.0.2.0/24"), AddressUse.RESERVED),  # documentation (RFC 5737)
    (_V4("192.88.99.0/24"), AddressUse.RESERVED),  # 6to4 relay anycast (RFC 7526)
    (_V4("192.168.0.0/16"), AddressUse.PRIVATE),  # RFC 1918
    (_V4("198.18.0.0/15"), AddressUse.RESERVED),  # benchmarking (RFC 2544)
    (_V4("198.51.100.0/24"), AddressUse.RESERVED),  # documentation (RFC 5737)
    (_V4("203.0.113.0/24"), AddressUse.RESERVED),  # documentation (RFC 5737)
    (_V4("224.0.0.0/4"), AddressUse.MULTICAST),  # RFC 5771
    (_V4("240.0.0.0/4"), AddressUse.RESERVED),  # future use, and the broadcast address
    (_V6("::/128"), AddressUse.UNSPECIFIED),  # RFC 4291
    (_V6("::1/128"), AddressUse.LOOPBACK),  # RFC 4291
    (_V6("64:ff9b:1::/48"), AddressUse.PRIVATE),  # local-use NAT64 (RFC 8215)
    (_V6("100::/64"), AddressUse.RESERVED),  # discard-only (RFC 6666)
    (_V6("2001::/23"), AddressUse.RESERVED),  # IETF protocol assignments, Teredo (RFC 2928)
    (_V6("2001:db8::/32"), AddressUse.RESERVED),  # documentation (RFC 3849)
    (_V6("3fff::/20"), AddressUse.RESERVED),  # documentation (RFC 9637)
    (_V6("5f00::/16"), AddressUse.RESERVED),  # SRv6 SIDs (RFC 9602)
    (_V6("fc00::/7"), AddressUse.PRIVATE),  # unique local (RFC 4193)
    (_V6("fe80::/10"), AddressUse.LINK_LOCAL),  # RFC 4291
    (_V6("ff00::/8"), AddressUse.MULTICAST),  # RFC 4291
)
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NAT64 = _V6("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address


def address_use(address: IpAddress) -> AddressUse:
    """What ``address`` is for, by :data:`RANGES`."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return address_use(inner)
    for network, use in RANGES:
        if address.version == network.version and address in network:
            return use
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return AddressUse.RESERVED
    return AddressUse.PUBLIC


def may_connect(use: AddressUse, *, allow_private: bool) -> bool:
    """Public addresses always; loopback, private, link-local and reserved ones only when
    the operator allows private targets (local simulators, tests). Multicast and
    unspecified addresses never: no single receiver answers there."""
    if use is AddressUse.PUBLIC:
        return True
    return allow_private and use not in (AddressUse.MULTICAST, AddressUse.UNSPECIFIED)


def is_public_text(text: str) -> bool:
    """True for an address (as a resolver answers it, a zone allowed) that is public."""
    return address_use(ipaddress.ip_address(text)) is AddressUse.PUBLIC


# -- hosts in URLs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamedHost:
    """A DNS name: judged by what it resolves to when a connection opens."""

    name: str


@dataclass(frozen=True, slots=True)
class LiteralHost:
    """An address literal, or a name that always means loopback (RFC 6761 §6.3)."""

    use: AddressUse


@dataclass(frozen=True, slots=True)
class BadHost:
    """No host a connection could be made to as written; ``reason`` says why."""

    reason: str


Host = NamedHost | LiteralHost | BadHost

_DECIMAL_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_DECIMAL_OCTET}(?:\.{_DECIMAL_OCTET}){{3}}")
# The WHATWG URL standard's "ends in a number" test: such a host is an IPv4 address.
_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_NAME = 253  # RFC 1035 §2.3.4, without the trailing dot


def parse_host(host: str) -> Host:
    """Read the host of a URL as ``urlsplit(...).hostname`` gives it: lower-cased, an IPv6
    literal without its brackets (the only form with a colon).

    IPv4 is accepted only as four decimal numbers. ``0177.0.0.1``, ``0x7f.1``, ``127.1``
    and ``2130706433`` all mean 127.0.0.1 to a resolver built on ``inet_aton`` and to
    browsers (WHATWG URL), while other parsers refuse them or read them as names; they are
    refused rather than normalised, so the stored target is the one every parser reads the
    same way. An IPv6 zone (``%eth0``) names an interface of this host, never a receiver.
    """
    if ":" in host:
        if "%" in host:
            return BadHost("an IPv6 zone identifier names a local interface")
        try:
            return LiteralHost(address_use(ipaddress.IPv6Address(host)))
        except ValueError:
            return BadHost("is not a valid IPv6 address")
    name = host[:-1] if host.endswith(".") else host
    if not name.isascii():
        return BadHost("must be written in ASCII (the xn-- form of an international name)")
    labels = name.split(".")
    if _NUMBER.fullmatch(labels[-1]):
        if not _DOTTED_QUAD.fullmatch(name):
            return BadHost("an IPv4 address must be written as four decimal numbers")
        return LiteralHost(address_use(ipaddress.IPv4Address(name)))
    if len(name) > MAX_NAME or not all(_LABEL.fullmatch(label) for label in labels):
        return BadHost("is not a valid host name")
    if labels[-1] == "localhost":
        return LiteralHost(AddressUse.LOOPBACK)
    return NamedHost(name)
