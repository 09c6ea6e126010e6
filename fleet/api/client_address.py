"""The client's address for login throttling: the peer, or X-Forwarded-For from a trusted
proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import cache

from fastapi import Request

__all__ = ["client_address", "throttle_key_of"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(trusted: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def throttle_key_of(peer: str, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The address to count failures against.

    X-Forwarded-For is read only when the peer is a trusted proxy (anyone can send the header),
    from the right: each trusted proxy appends the address it saw, so the first untrusted one
    is the client. An IPv6 client counts as its /64, the block one subscriber usually holds
    (or it could use a new address for every try)."""
    nets = _networks(tuple(trusted))
    address = _parse(peer)
    if address is not None and forwarded_for and any(address in n for n in nets):
        for hop in reversed(forwarded_for.split(",")[-20:]):
            found = _parse(hop)
            if found is None:
                break  # a malformed hop: keep the last address a trusted proxy vouched for
            address = found
            if not any(found in n for n in nets):
                break
    if address is None:
        return peer[:64] or "unknown"  # a test client or a Unix socket: still one bucket
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(request: Request, trusted: Sequence[str]) -> str:
    peer = request.client.host if request.client else ""
    return throttle_key_of(peer, request.headers.get("x-forwarded-for"), trusted)
