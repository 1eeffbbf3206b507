"""FastAPI dependency that turns a Bearer key into a Principal, or a 401/403 problem."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext

from leadloop_platform.auth import sessions
from leadloop_platform.auth.cache import AuthCache
from leadloop_platform.auth.keys import SCOPES, Principal, find_by_hash, find_by_id, hash_key
from leadloop_platform.auth.sessions import SESSION_COOKIE
from leadloop_platform.http.problems import Problem

__all__ = ["SESSION_COOKIE", "ScopeGuard", "authenticate", "require_scope", "resolve"]
_BOOTSTRAP = Principal(key_id="bootstrap", scopes=frozenset(SCOPES))
SAFE_METHODS = frozenset({"GET", "HEAD"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="leadloop"'}


def bearer_token(request: Request) -> str | None:
    """The key from `Authorization: Bearer ...`, if present."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: Request) -> Principal:
    """Resolve the caller from its API key, or, for reads of the dashboard, reports and reviews
    only, from the dashboard session cookie; 401 when missing, unknown, expired or revoked."""
    token = bearer_token(request)
    if token is not None:
        principal = await resolve(request.app.state, token)
        if principal is None:
            raise Problem(401, "the API key is unknown or revoked", headers=CHALLENGE)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    # Never for writes, so a cross-site form cannot act with the session.
    if not cookie or request.method not in SAFE_METHODS:
        raise Problem(401, "missing Authorization: Bearer <api key>", headers=CHALLENGE)
    if not sessions.allows_path(request.url.path):
        raise Problem(
            401,
            "a dashboard session reads only the dashboard, reports and reviews; "
            "send an API key (Authorization: Bearer) for this route",
            headers=CHALLENGE,
        )
    principal = await resolve_session(request.app.state, cookie)
    if principal is None:
        raise Problem(
            401, "the dashboard session is invalid, expired or revoked", headers=CHALLENGE
        )
    return principal


def auth_cache(state: Any) -> AuthCache:
    """The process's cache of known keys (made on first use)."""
    cache = getattr(state, "auth_cache", None)
    if not isinstance(cache, AuthCache):
        cache = state.auth_cache = AuthCache()
    return cache


async def resolve(state: Any, token: str) -> Principal | None:
    """The principal an API key stands for (cached briefly), or None when unknown or revoked."""
    bootstrap = state.settings.bootstrap_api_key
    if bootstrap is not None and hmac.compare_digest(
        token.encode(), bootstrap.get_secret_value().encode()
    ):
        return _BOOTSTRAP
    # By hash: a flood of huge bogus tokens costs 64 bytes each at most, and only known keys
    # are kept, so it costs nothing at all.
    digest = hash_key(token)
    cache = auth_cache(state)
    principal = cache.get(digest)
    if principal is None:
        principal = await find_by_hash(state.engine, digest)
        if principal is not None:
            cache.put(digest, principal)
    return principal


async def session_secret(state: Any) -> bytes:
    """The dashboard sessions' signing secret (read from the database once per process)."""
    secret = getattr(state, "session_secret", None)
    if not isinstance(secret, bytes):
        secret = state.session_secret = await sessions.signing_secret(state.engine)
    return secret


async def start_session(state: Any, principal: Principal, key: str) -> str:
    """A signed session cookie value for the key `key` (already resolved to `principal`)."""
    secret = await session_secret(state)
    return sessions.issue(secret, principal.key_id, hash_key(key), time.time())


async def resolve_session(state: Any, cookie: str) -> Principal | None:
    """The read-only principal of a valid session whose key is still active, or None."""
    session = sessions.verify(await session_secret(state), cookie, time.time())
    if session is None:
        return None
    digest = "session:" + hashlib.sha256(cookie.encode()).hexdigest()
    cache = auth_cache(state)
    key = cache.get(digest)
    if key is None:
        key = await _session_key(state, session)
        if key is None:
            return None
        cache.put(digest, key)
    if not key.allows(sessions.SESSION_SCOPE):
        return None
    return Principal(key_id=key.key_id, scopes=frozenset({sessions.SESSION_SCOPE}), session=True)


async def _session_key(state: Any, session: sessions.Session) -> Principal | None:
    """The key a session came from, if it is still active and still the same key."""
    if session.key_id == _BOOTSTRAP.key_id:
        bootstrap = state.settings.bootstrap_api_key
        if bootstrap is None:
            return None
        current = sessions.fingerprint(hash_key(bootstrap.get_secret_value()))
        return _BOOTSTRAP if hmac.compare_digest(current, session.fingerprint) else None
    return await find_by_id(state.engine, session.key_id, session.fingerprint)


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
