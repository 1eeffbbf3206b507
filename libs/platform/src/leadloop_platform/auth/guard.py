"""FastAPI dependency that turns a Bearer key into a Principal, or a 401/403 problem."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext

from leadloop_platform.auth.keys import SCOPES, Principal, find_principal
from leadloop_platform.http.problems import Problem

CACHE_SECONDS = 10.0
_BOOTSTRAP = Principal(key_id="bootstrap", scopes=frozenset(SCOPES))


SESSION_COOKIE = "leadloop_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def bearer_token(request: Request) -> str | None:
    """The key from `Authorization: Bearer ...`, if present; for reads only, also the key a
    browser holds in the HttpOnly session cookie set by a dashboard sign-in (never for writes,
    so a cross-site form cannot act with it)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.method in SAFE_METHODS:
        return request.cookies.get(SESSION_COOKIE) or None
    return None


async def authenticate(request: Request) -> Principal:
    """Resolve the caller; 401 when the key is missing, unknown or revoked."""
    token = bearer_token(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="leadloop"'}
    if token is None:
        raise Problem(401, "missing Authorization: Bearer <api key>", headers=challenge)
    principal = await resolve(request.app.state, token)
    if principal is None:
        raise Problem(401, "the API key is unknown or revoked", headers=challenge)
    return principal


async def resolve(state: Any, token: str) -> Principal | None:
    """The principal an API key stands for (cached briefly), or None when unknown or revoked."""
    bootstrap = state.settings.bootstrap_api_key
    if bootstrap is not None and hmac.compare_digest(
        token.encode(), bootstrap.get_secret_value().encode()
    ):
        return _BOOTSTRAP
    cache: dict[str, tuple[float, Principal | None]] = state.auth_cache
    hit = cache.get(token)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    principal = await find_principal(state.engine, token)
    if len(cache) > 10_000:
        cache.clear()
    cache[token] = (now, principal)
    return principal


SignatureCheck = Callable[[Request], Awaitable[bool]]


class ScopeGuard:
    """A route dependency: the caller must hold `scope` (or `admin`). With `or_signed`, a request
    that check accepts (a signed webhook) passes without a key; the check raises when a signature
    is there but wrong, and answers False when there is none."""

    def __init__(self, scope: str, or_signed: SignatureCheck | None = None) -> None:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope}")
        self.scope = scope
        self.or_signed = or_signed

    async def __call__(self, request: Request) -> Principal:
        if self.or_signed is not None and await self.or_signed(request):
            return Principal(key_id="signed-webhook", scopes=frozenset({self.scope}))
        principal = await authenticate(request)
        if not principal.allows(self.scope):
            raise Problem(403, f"this API key lacks the scope {self.scope!r}", kind="missing-scope")
        return principal


def require_scope(scope: str, *, or_signed: SignatureCheck | None = None) -> ScopeGuard:
    """Dependency factory: the caller must hold `scope` (or `admin`)."""
    return ScopeGuard(scope, or_signed)


def route_scope(route: APIRoute | RouteContext) -> str | None:
    """The scope a route's guard requires (searched through its dependencies), or None."""
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, ScopeGuard):
            return dependant.call.scope
        pending.extend(dependant.dependencies)
    return None
