"""The guarded HTTP client: it connects only to checked addresses, within a total deadline,
and reads at most a capped body."""

from __future__ import annotations

import asyncio
import re
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

import httpcore
import httpx

from leadloop_platform.outbound.targets import (
    CONNECTION_FAILED,
    OutboundError,
    RefusedTarget,
    TargetPolicy,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class Reply:
    """An answer: its status, the first `max_response_bytes` of its body, how many were read,
    and its headers (names in lower case)."""

    status_code: int
    body: bytes
    bytes_read: int
    duration_ms: float
    headers: dict[str, str] = field(default_factory=dict)


def excerpt(data: bytes, limit: int = 200) -> str:
    """A short, single-line, control-character-free excerpt of a receiver's body for logs."""
    text = _CONTROL.sub(" ", data[: limit * 4].decode("utf-8", errors="replace"))
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class OutboundPolicy(TargetPolicy):
    """Allowed targets, the total deadline of a call and the most of a body read; the target
    checks, and the client and the call that apply them."""

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
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Reply(response.status_code, body, read, duration, headers)


async def _once(data: bytes) -> typing.AsyncIterator[bytes]:
    """A body read already (a prepared response, as in tests) as one chunk."""
    yield data


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host, then connects to the checked address itself."""

    def __init__(self, policy: TargetPolicy) -> None:
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
