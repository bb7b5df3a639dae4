"""Where a webhook may be sent: resolve the host once, check every address, connect to those.

A public URL must not become a way into the network this service runs in (SSRF): loopback,
private, link-local, shared (carrier-grade NAT), unspecified, multicast and reserved addresses
are refused, and so is anything else that is not globally routable. IPv6 forms that carry an IPv4
address (IPv4-mapped `::ffff:a.b.c.d`, 6to4 `2002::/16`, NAT64 `64:ff9b::/96`) are judged by
that IPv4 address. The cloud metadata service (169.254.169.254, fd00:ec2::254) is refused even
where private destinations are allowed: no receiver lives there, and its answers are
credentials.

The connection goes to the addresses checked here, not to a second lookup, so a DNS answer
that changes between check and connect (DNS rebinding) cannot slip a private address in.
"""

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

from chalicelib.webhooks.urls import WebhookUrl, WebhookUrlRefused

IPAddress = IPv4Address | IPv6Address
# (host, port) → the addresses it resolves to, as text. Injected so tests need no DNS.
Resolver = Callable[[str, int], Sequence[str]]

METADATA_ADDRESSES = frozenset({IPv4Address("169.254.169.254"), IPv6Address("fd00:ec2::254")})
_NAT64 = IPv6Network("64:ff9b::/96")


def resolve_with_dns(host: str, port: int) -> list[str]:
    """The system resolver's addresses for a TCP connection to host:port, each once, in order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def destination_addresses(
    url: WebhookUrl, allow_private: bool, resolver: Resolver = resolve_with_dns
) -> list[IPAddress]:
    """The addresses to connect to for `url`, every one of them checked.

    Raises WebhookUrlRefused if any address is not allowed (one bad answer among good ones
    could be the one connected to), and OSError (socket.gaierror) if the host does not resolve.
    An IP literal in the URL is checked as it is, without the resolver."""
    literal = _parse(url.host)
    texts = [url.host] if literal is not None else resolver(url.host, url.port)
    addresses = []
    for text in texts:
        address = _parse(text)
        if address is None:
            raise WebhookUrlRefused(url.url, f"the host resolved to {text!r}, not an address")
        problem = address_problem(address, allow_private)
        if problem is not None:
            # The address as written: Python's own spelling of IPv4-mapped ones varies.
            where = f"{text} is" if literal is not None else f"{url.host} resolves to {text},"
            raise WebhookUrlRefused(url.url, f"{where} {problem}")
        addresses.append(address)
    if not addresses:
        raise WebhookUrlRefused(url.url, f"{url.host} resolved to no address")
    return addresses


def address_problem(address: IPAddress, allow_private: bool) -> str | None:
    """Why a connection must not go to `address`, or None if it may."""
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        problem = address_problem(embedded, allow_private)
        return None if problem is None else f"an IPv6 form of {embedded}, {problem}"
    if allow_private:
        return None
    for kind, applies in (
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("the unspecified address", address.is_unspecified),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
    ):
        if applies:
            return kind
    if not address.is_global:  # shared address space (100.64.0.0/10) and the like
        return "not a public address"
    return None


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _parse(text: str) -> IPAddress | None:
    try:
        return ip_address(text)
    except ValueError:
        return None
