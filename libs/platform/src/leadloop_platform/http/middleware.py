"""ASGI middleware: body and header size limits, the pages' security policy, correlation id,
HTTP metrics."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadloop_platform import metrics
from leadloop_platform.http.problems import PROBLEM_JSON, TYPE_BASE
from leadloop_platform.logs import correlation_id

CORRELATION_HEADER = "x-correlation-id"


class BodyTooLarge(HTTPException):
    """The request body went past its limit while streaming (answered as a 413 problem)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, default_limit: int, limits: Mapping[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, limit)


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


class HeaderLimitMiddleware:
    """Refuse a request whose path and headers exceed `limit` bytes with a 431 problem (the
    server, uvicorn with h11, also stops reading headers beyond about one read of the socket)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers") or [])
            if size > self.limit:
                detail = f"the request's headers are larger than the limit of {self.limit} bytes"
                await _send_problem(send, 431, "Request header fields too large", detail)
                return
        await self.app(scope, receive, send)


# For every page without a policy of its own: no script, nothing from another origin.
STRICT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class ContentSecurityMiddleware:
    """Give every HTML response that lacks one the strict Content-Security-Policy (and
    X-Content-Type-Options: nosniff), so no page for people is ever sent without it."""

    def __init__(self, app: ASGIApp, policy: str = STRICT_CSP) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {name.lower() for name, _ in headers}
                content_type = dict(headers).get(b"content-type", b"")
                if (
                    content_type.startswith(b"text/html")
                    and b"content-security-policy" not in names
                ):
                    headers.append((b"content-security-policy", self.policy))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_policy)


class ObservabilityMiddleware:
    """Set the correlation id for the request and count and time it by route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    @staticmethod
    def route_of(scope: Scope) -> str:
        """The matched route's template (the router records it in the scope), never the raw path."""
        return str(getattr(scope.get("route"), "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cid = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")[:128]
        cid = cid or str(uuid.uuid4())
        token = correlation_id.set(cid)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = self.route_of(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, route).observe(
                time.perf_counter() - start
            )
            correlation_id.reset(token)
