"""The one guard for every outbound HTTP call (webhooks now, the connectors next).

A target must be http(s), carry no credentials, and name a public address: loopback, private
(RFC 1918, ULA), link-local, CGNAT, multicast, reserved, unspecified and cloud-metadata targets
are refused unless the allow list (``LEADLOOP_WEBHOOK_ALLOWED_HOSTS``: names, addresses, CIDRs)
names them. URLs are checked when stored and again when connecting: the connection goes to the
very address that was resolved and checked, so DNS rebinding cannot switch it (TLS SNI and the
Host header keep the name). Each call has a total deadline and reads at most a capped body.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import time
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "CONNECTION_FAILED",
    "AllowList",
    "OutboundError",
    "OutboundPolicy",
    "RefusedTarget",
    "Reply",
    "excerpt",
    "parse_host",
    "system_resolver",
]

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
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


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
class Reply:
    """An answer: its status, the first `max_response_bytes` of its body, how many were read."""

    status_code: int
    body: bytes
    bytes_read: int
    duration_ms: float


def excerpt(data: bytes, limit: int = 200) -> str:
    """A short, single-line, control-character-free excerpt of a receiver's body for logs."""
    text = _CONTROL.sub(" ", data[: limit * 4].decode("utf-8", errors="replace"))
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class OutboundPolicy:
    """Allowed targets, the total deadline of a call and the most of a body read."""

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

    def client(self) -> httpx.AsyncClient:
        """An HTTP client that connects only to checked addresses, ignores proxy variables
        and follows no redirect."""
        return httpx.AsyncClient(
            transport=_GuardedTransport(self),
            trust_env=False,
            follow_redirects=False,
            timeout=self.timeout_s,
        )

    async def send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        read_body: Callable[[int], bool] = lambda status: True,
    ) -> Reply:
        """One call within the total deadline, reading at most `max_response_bytes` (and only
        when `read_body(status)`); raises RefusedTarget or OutboundError."""
        self.check_url(url)
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    request = client.build_request(method, url, content=content, headers=headers)
                except httpx.InvalidURL as exc:
                    raise RefusedTarget(f"not a valid URL: {exc}") from exc
                response = await client.send(request, stream=True)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            raise OutboundError(CONNECTION_FAILED) from exc
        body = b""
        read = 0
        try:
            if read_body(response.status_code):
                async with asyncio.timeout_at(deadline):
                    # Raw bytes, never decoded: a gzip bomb stays the size it was sent at.
                    chunks = (
                        _once(response.content)
                        if response.is_stream_consumed
                        else response.aiter_raw()
                    )
                    async for chunk in chunks:
                        read += len(chunk)
                        body += chunk[: self.max_response_bytes - len(body)]
                        if read >= self.max_response_bytes:
                            break
        except (httpx.HTTPError, OSError, TimeoutError):
            pass  # the status is the answer; a body cut short is only a shorter excerpt
        finally:
            await response.aclose()
        duration = (time.perf_counter() - started) * 1000
        return Reply(response.status_code, body, read, duration)


async def _once(data: bytes) -> typing.AsyncIterator[bytes]:
    """A body read already (a prepared response, as in tests) as one chunk."""
    yield data


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host, then connects to the checked address itself."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("unix sockets are not an outbound target")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the guarded backend (SNI and Host keep the URL's name)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )
