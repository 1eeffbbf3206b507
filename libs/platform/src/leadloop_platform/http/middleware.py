"""The edge's ASGI middleware: body and header size limits, the pages' security policy,
correlation id, HTTP metrics, all in one pass."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadloop_platform import metrics
from leadloop_platform.http.problems import PROBLEM_JSON, TYPE_BASE
from leadloop_platform.logs import correlation_id

CORRELATION_HEADER = "x-correlation-id"
CORRELATION_ID = CORRELATION_HEADER.encode()


class BodyTooLarge(HTTPException):
    """The request body went past its limit while streaming (answered as a 413 problem)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


def limit_for(path: str, default_limit: int, limits: Mapping[str, int]) -> int:
    """The body limit of a path: the first prefix of `limits` it starts with, else the default."""
    for prefix, limit in limits.items():
        if path.startswith(prefix):
            return limit
    return default_limit


async def _send_413(send: Send, limit: int) -> None:
    detail = f"the request body is larger than the limit of {limit} bytes"
    await _send_problem(send, 413, "Content too large", detail)


async def _send_problem(send: Send, status: int, title: str, detail: str) -> None:
    kind = title.lower().replace(" ", "-")
    body = json.dumps(
        {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The request line and headers of one request: far above any real client's, far below what
# would let a flood of huge bogus tokens fill memory.
MAX_HEADER_BYTES = 16 * 1024


# For every page without a policy of its own: no script, nothing from another origin.
STRICT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class EdgeMiddleware:
    """The shared edge in one pass: correlation id, metrics by route template, the header limit
    (431), the pages' security headers and the body limit (413, by Content-Length or streamed).

    One layer instead of four nested ones, with the same effects in the same order: the 431 is
    answered before the security headers are added (as when it was an outer layer), and the
    correlation id is the last header of every response."""

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        default_limit: int,
        limits: Mapping[str, int],
        header_limit: int = MAX_HEADER_BYTES,
        policy: str = STRICT_CSP,
    ) -> None:
        self.app = app
        self.service = service
        self.default_limit = default_limit
        self.limits = dict(limits)
        self.header_limit = header_limit
        self.policy = policy.encode()
        # (method, route, status) -> the counter's and the histogram's children: `labels()`
        # takes a lock and hashes the labels on every call; the same children, looked up once.
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        cid = (_last_header(headers, CORRELATION_ID) or b"").decode("latin-1")[:128]
        cid = cid or new_correlation_id()
        token = correlation_id.set(cid)
        edge = _Exchange(send, cid.encode("latin-1"), self.policy)
        start = time.perf_counter()
        try:
            await self._answer(scope, receive, edge, headers)
        finally:
            self._observe(scope, str(edge.status), time.perf_counter() - start)
            correlation_id.reset(token)

    async def _answer(
        self, scope: Scope, receive: Receive, edge: _Exchange, headers: list[Any]
    ) -> None:
        """The limits, then the app; a streamed body past its limit answers 413 if it can."""
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.header_limit:
            detail = f"the request's headers are larger than the limit of {self.header_limit} bytes"
            await _send_problem(edge.send_with_id, 431, "Request header fields too large", detail)
            return
        limit = limit_for(scope["path"], self.default_limit, self.limits)
        declared = _last_header(headers, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(edge.send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, edge.send)
        except BodyTooLarge:
            if not edge.started:
                await _send_413(edge.send, limit)

    def _observe(self, scope: Scope, status: str, elapsed: float) -> None:
        """Count and time the request by its route template (never the raw path)."""
        key = (scope["method"], str(getattr(scope.get("route"), "path", "unmatched")), status)
        series = self._series.get(key)
        if series is None:
            service, method, route = self.service, key[0], key[1]
            series = (
                metrics.HTTP_REQUESTS.labels(service, method, route, status),
                metrics.HTTP_LATENCY.labels(service, method, route),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(elapsed)


class _Exchange:
    """One response's send: the security headers, then the correlation id; its status."""

    __slots__ = ("_send", "cid", "policy", "started", "status")

    def __init__(self, send: Send, cid: bytes, policy: bytes) -> None:
        self._send = send
        self.cid = cid
        self.policy = policy
        self.started = False
        self.status = 500

    async def send(self, message: Message) -> None:
        """Add the pages' security headers and the correlation id to the response's start."""
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            names = {name.lower() for name, _ in headers}
            content_type = _last_header(headers, b"content-type") or b""
            if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
                headers.append((b"content-security-policy", self.policy))
            if b"x-content-type-options" not in names:
                headers.append((b"x-content-type-options", b"nosniff"))
            message["headers"] = headers
        await self.send_with_id(message)

    async def send_with_id(self, message: Message) -> None:
        """Add the correlation id only (a 431 is answered before the security headers)."""
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            message["headers"] = [*(message.get("headers") or []), (CORRELATION_ID, self.cid)]
        await self._send(message)


def new_correlation_id() -> str:
    """A random UUID (version 4) as text, as `str(uuid.uuid4())` gives, in a third of its time."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _last_header(headers: Any, name: bytes) -> bytes | None:
    """The value of the last header called exactly `name` (as `dict(headers)[name]` gives)."""
    found = None
    for key, value in headers:
        if key == name:
            found = value
    return found
