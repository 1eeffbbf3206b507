"""Revocation reaches every process at once: `revoke_key` NOTIFYs the key id on
`leadloop_auth_revoked`, and each service LISTENs and drops the key from its auth cache. While
the listening connection is down, the cache's 10 s lifetime still bounds how long a revoked key
works; on every (re)connection the whole cache is dropped, for what was missed meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from leadloop_platform.auth.cache import AuthCache
from leadloop_platform.auth.keys import REVOKED_CHANNEL
from leadloop_platform.settings import to_asyncpg_url

log = logging.getLogger(__name__)
RETRY_S = 1.0
POSTGRES_AWAY = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
)


def _dsn(database_url: str) -> str:
    return to_asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen_for_revocations(
    database_url: str, cache: AuthCache, listening: asyncio.Event | None = None
) -> None:
    """Forget revoked keys as their NOTIFY arrives, until cancelled; `listening` is set once
    the LISTEN is in place (tests wait on it)."""

    def revoked(*args: Any) -> None:
        cache.drop(str(args[3]) or None)

    warned = False
    while True:
        try:
            conn = await asyncpg.connect(_dsn(database_url))
        except POSTGRES_AWAY as exc:
            if not warned:
                log.warning("revocations: cannot reach Postgres (%s); retrying", exc)
                warned = True
            await asyncio.sleep(RETRY_S)
            continue
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn, ev=closed: ev.set())
            await conn.add_listener(REVOKED_CHANNEL, revoked)
            cache.clear()  # a revocation may have passed while nobody listened
            warned = False
            if listening is not None:
                listening.set()
            await closed.wait()
            log.warning("revocations: the listening connection closed; reconnecting")
            await asyncio.sleep(RETRY_S)
        except POSTGRES_AWAY as exc:
            log.warning("revocations: lost Postgres (%s); reconnecting", exc)
        finally:
            with contextlib.suppress(*POSTGRES_AWAY):
                await conn.close()
