"""Which outbound targets are allowed: addresses in any spelling, local and metadata names,
the allow list, and the checks of a URL and of the addresses it resolves to."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

# One message for refused, reset, timed out: the log must not tell open ports from closed.
CONNECTION_FAILED = "connection failed"
# Cloud metadata and machine-local names, refused whatever they resolve to (here or elsewhere).
_BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.goog", "instance-data"})
_BLOCKED_SUFFIXES = (".localhost", ".internal", ".local")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)")


class RefusedTarget(ValueError):
    """An outbound target the policy does not allow (the message says why)."""


class OutboundError(Exception):
    """An outbound call that got no usable answer (connection failed, deadline passed)."""


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The inet_aton spellings: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 127.1."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        return None
    numbers = []
    for part in parts:
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                raise RefusedTarget(f"{host!r} is not a valid address")
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise RefusedTarget(f"{host!r} is not a valid address")
    value = sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + last
    return ipaddress.IPv4Address(value)


def parse_host(host: str) -> Address | None:
    """The address a host names in any spelling (IPv6 with or without brackets); None for a name."""
    bare = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return _legacy_ipv4(bare)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if any(addr in net for net in _NAT64):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def forbidden_reason(addr: Address) -> str | None:
    """Why an address is no public target (loopback, private, link-local...), or None."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return forbidden_reason(inner)
    for reason, hit in (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("private", addr.is_private),
        ("shared (CGNAT)", isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT),
        ("reserved", addr.is_reserved or not addr.is_global),
    ):
        if hit:
            return reason
    return None


@dataclass(frozen=True)
class AllowList:
    """Targets allowed despite the rules (development and tests): names, addresses, CIDRs."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """`"localhost, 127.0.0.1, 10.0.0.0/8"`; raises ValueError on a bad CIDR or entry."""
        names: set[str] = set()
        networks: list[Network] = []
        for entry in (e.strip().lower().rstrip(".") for e in text.split(",")):
            if not entry:
                continue
            if "/" in entry:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            elif (addr := parse_host(entry)) is not None:
                networks.append(ipaddress.ip_network(addr))
            elif re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", entry):
                names.add(entry)
            else:
                raise ValueError(f"{entry!r} is no host name, address or CIDR")
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        """Whether this exact host name is allowed (then any address it resolves to is)."""
        return host.lower().rstrip(".") in self.names

    def allows_address(self, addr: Address) -> bool:
        """Whether an allowed CIDR or address holds `addr`."""
        return any(addr.version == net.version and addr in net for net in self.networks)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetPolicy:
    """Allowed targets, the total deadline of a call and the most of a body read; the checks.

    `OutboundPolicy` (in `client`) adds the guarded client that applies them.
    """

    allowed: AllowList = field(default_factory=AllowList)
    timeout_s: float = 10.0
    max_response_bytes: int = 64 * 1024
    resolver: Resolver = system_resolver

    def check_url(self, url: str) -> tuple[str, int]:
        """Refuse a bad scheme, credentials or a forbidden literal/name; returns (host, port)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise RefusedTarget(f"not a valid URL: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise RefusedTarget("only http and https URLs are allowed")
        if "@" in parts.netloc:
            raise RefusedTarget("credentials in the URL are not allowed")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise RefusedTarget("the URL has no host")
        port = port or (443 if scheme == "https" else 80)
        if self.allowed.allows_name(host):
            return host, port
        addr = parse_host(host)
        if addr is not None:
            self.check_address(addr)
        elif host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES):
            raise RefusedTarget(f"{host} is a local or metadata name")
        return host, port

    def check_address(self, addr: Address) -> None:
        """Refuse an address that is not public, unless allowed."""
        reason = forbidden_reason(addr)
        if reason is not None and not self.allowed.allows_address(addr):
            raise RefusedTarget(f"{addr} is a {reason} address")

    async def resolve(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to; refused when any resolved address is not."""
        literal = parse_host(host)
        if literal is not None:
            if not self.allowed.allows_name(host):
                self.check_address(literal)
            return [str(literal)]
        if not self.allowed.allows_name(host) and (
            host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES)
        ):
            raise RefusedTarget(f"{host} is a local or metadata name")
        try:
            found = await self.resolver(host, port)
        except OSError as exc:
            raise OutboundError(CONNECTION_FAILED) from exc
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses:
            raise OutboundError(CONNECTION_FAILED)
        if not self.allowed.allows_name(host):
            for addr in addresses:
                reason = forbidden_reason(addr)
                if reason is not None and not self.allowed.allows_address(addr):
                    raise RefusedTarget(f"{host} resolves to a {reason} address")
        return [str(a) for a in addresses]

    async def check_target(self, url: str) -> None:
        """The check when a URL is stored: the rules, and its addresses when it resolves now."""
        host, port = self.check_url(url)
        # Not resolvable yet is no refusal: every connection checks again.
        with contextlib.suppress(OutboundError, TimeoutError):
            await asyncio.wait_for(self.resolve(host, port), timeout=self.timeout_s)
