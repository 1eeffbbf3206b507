"""Dashboard sessions: what a browser holds after signing in with an API key, instead of the key.
A session is signed (HMAC-SHA256 with a secret every process reads from the `auth` schema),
expires, names the key it came from (so revoking the key ends it) and only reads: the dashboard,
reports and reviews, never admin routes or one lead's personal data."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.auth.keys import signing_secrets

SESSION_COOKIE: Final = "leadloop_session"
SESSION_SECONDS: Final = 12 * 3600
SESSION_SCOPE: Final = "reports:read"
# What a session may read; everything else needs an API key.
SESSION_PATHS: Final = ("/dashboard", "/v1/reports/", "/v1/reviews/")
SECRET_NAME: Final = "dashboard-sessions"
FINGERPRINT_HEX: Final = 16
VERSION: Final = "v1"


@dataclass(frozen=True)
class Session:
    """A verified session: the key it came from (id and hash prefix) and when it ends."""

    key_id: str
    fingerprint: str
    expires_at: int


def fingerprint(key_hash: str) -> str:
    """The part of a key's SHA-256 a session carries: enough to tell a replaced key."""
    return key_hash[:FINGERPRINT_HEX]


JOURNEY_PATH: Final = re.compile(r"/v1/leads/(?!\.\.?/)[^/]+/journey")
"""One lead's journey (no personal data), linked from the dashboard; never the rest of a lead."""


def allows_path(path: str) -> bool:
    """Whether a session may read `path`."""
    return (
        path == "/dashboard"
        or path.startswith(SESSION_PATHS)
        or JOURNEY_PATH.fullmatch(path) is not None
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest())


def issue(
    secret: bytes, key_id: str, key_hash: str, now: float, ttl_s: int = SESSION_SECONDS
) -> str:
    """A signed session for the key `key_id`, valid `ttl_s` seconds from `now`."""
    claims = {"k": key_id, "f": fingerprint(key_hash), "e": int(now) + ttl_s}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{VERSION}.{payload}.{_mac(secret, payload)}"


def verify(secret: bytes, cookie: str, now: float) -> Session | None:
    """The session a cookie holds, or None when it is malformed, forged, altered or expired."""
    version, _, rest = cookie.partition(".")
    payload, _, mac = rest.partition(".")
    if version != VERSION or not payload or not mac:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        return None
    try:
        claims = json.loads(_unb64(payload))
        session = Session(
            key_id=str(claims["k"]), fingerprint=str(claims["f"]), expires_at=int(claims["e"])
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return session if now < session.expires_at else None


async def signing_secret(engine: AsyncEngine, name: str = SECRET_NAME) -> bytes:
    """The deployment's secret `name`: made by the first process that asks, then shared."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(signing_secrets)
            .values(name=name, secret=secrets.token_bytes(32), created_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        secret = await conn.scalar(
            sa.select(signing_secrets.c.secret).where(signing_secrets.c.name == name)
        )
    assert isinstance(secret, bytes)
    return secret
