"""The call layer every vendor client shares: one JSON call through the outbound guard, its
answer classified into typed errors. The client never sleeps and never retries on its own
(except one token refresh): the durable deliveries that call it decide when to try again."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from leadloop_platform.outbound import (
    AllowList,
    OutboundError,
    OutboundPolicy,
    RefusedTarget,
    Reply,
    excerpt,
)

# Without a Retry-After, a 429 waits this long (the vendors' windows are 1 to 10 seconds).
DEFAULT_RETRY_AFTER_S = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024


class ConnectorError(Exception):
    """A vendor call that did not succeed."""


class RateLimited(ConnectorError):
    """HTTP 429: try again after `retry_after_s`."""

    def __init__(self, retry_after_s: float, message: str = "rate limited") -> None:
        super().__init__(f"{message}; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class AuthFailed(ConnectorError):
    """401/403 (a 401 after one token refresh): the credentials are wrong or lack a scope."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class PermanentError(ConnectorError):
    """Any other 4xx: the same request never succeeds."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if message else f"HTTP {status}")
        self.status = status


class TransientError(ConnectorError):
    """A 5xx, a timeout or a connection failure: the same request may succeed later."""


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date, RFC 9110)."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def policy_for(base_url: str, base: OutboundPolicy | None = None) -> OutboundPolicy:
    """The outbound policy of a vendor API: the operator configured its URL, so its host is
    allowed even when it is local (a test double, a proxy); every other rule still applies."""
    base = base or OutboundPolicy(max_response_bytes=MAX_RESPONSE_BYTES)
    host = (urlsplit(base_url).hostname or "").lower()
    allowed = AllowList.parse(host) if host else AllowList()
    merged = AllowList(base.allowed.names | allowed.names, base.allowed.networks + allowed.networks)
    return OutboundPolicy(
        allowed=merged,
        timeout_s=base.timeout_s,
        max_response_bytes=base.max_response_bytes,
        resolver=base.resolver,
    )


@dataclass(frozen=True)
class ApiReply:
    """A successful answer: its status, its JSON body (None when empty) and its headers."""

    status: int
    body: Any
    headers: dict[str, str]


def classify(reply: Reply) -> ApiReply:
    """The answer of a 2xx, or the typed error of any other status."""
    status = reply.status_code
    if 200 <= status < 300:
        try:
            body = json.loads(reply.body) if reply.body.strip() else None
        except ValueError as exc:
            raise TransientError(f"HTTP {status} with a body that is not JSON") from exc
        return ApiReply(status, body, reply.headers)
    detail = excerpt(reply.body)
    if status == 429:
        raise RateLimited(retry_after(reply.headers.get("retry-after")))
    if status in (401, 403):
        raise AuthFailed(f"HTTP {status}: {detail}" if detail else f"HTTP {status}", status)
    if 400 <= status < 500:
        raise PermanentError(status, detail)
    raise TransientError(f"HTTP {status}: {detail}" if detail else f"HTTP {status}")


TokenSource = Callable[[bool], Awaitable[str]]
"""Gives the bearer token; called with True after a 401 to get a fresh one."""
Classifier = Callable[[Reply], ApiReply]
"""Turns a reply into its answer or its typed error (a vendor's own conventions over `classify`)."""


class ApiClient:
    """JSON calls to one vendor API, authenticated by a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        policy: OutboundPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        user_agent: str = "leadloop/1",
        classifier: Classifier = classify,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.policy = policy_for(self.base_url, policy)
        self._client = client
        self.user_agent = user_agent
        self.classifier = classifier

    async def __aenter__(self) -> ApiClient:
        if self._client is None:
            self._client = self.policy.client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL of `path` (already absolute URLs are kept) with its query."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
            url += ("&" if "?" in url else "?") + query
        return url

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiReply:
        """One call; a 401 refreshes the token and tries once more. Raises ConnectorError."""
        try:
            return await self._call(method, path, json_body, params, content, headers, False)
        except AuthFailed as exc:
            if exc.status != 401:
                raise
            return await self._call(method, path, json_body, params, content, headers, True)

    async def _call(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: dict[str, Any] | None,
        content: bytes | None,
        extra: dict[str, str] | None,
        refresh: bool,
    ) -> ApiReply:
        if self._client is None:
            raise RuntimeError("use the client inside `async with`")
        headers = {
            "authorization": f"Bearer {await self.token(refresh)}",
            "accept": "application/json",
            "user-agent": self.user_agent,
        }
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            headers["content-type"] = "application/json; charset=utf-8"
        headers.update(extra or {})
        try:
            reply = await self.policy.send(
                self._client, method, self.url(path, params), content=content, headers=headers
            )
        except RefusedTarget as exc:
            raise PermanentError(0, f"refused target: {exc}") from exc
        except OutboundError as exc:
            raise TransientError(str(exc)) from exc
        return self.classifier(reply)


def static_token(token: str) -> TokenSource:
    """A token that never changes (a HubSpot private app token, a Slack bot token)."""

    async def give(refresh: bool) -> str:
        return token

    return give
