"""A real service process (uvicorn as every deployment starts it) refuses oversized request
headers instead of buffering them: the red team's 2 MB bogus bearer tokens, 150 of which took
feedback from 104 to 399 MB. And a key revoked by `leadloop api-keys revoke` stops working in
another process at once (NOTIFY), not after that process's 10 s auth cache."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from leadloop_platform.auth.keys import create_key, revoke_key
from leadloop_platform.settings import to_asyncpg_url

from ..waiting import wait_for

KIB = 1024


async def refused(url: str, header_bytes: int) -> bool:
    """Whether the service refuses a request whose bearer token is `header_bytes` long (431, a
    400 from the server's parser, or a closed connection), never serving it."""
    token = "llk_" + "x" * header_bytes
    async with httpx.AsyncClient(timeout=30.0) as client:
        try:
            r = await client.get(url, headers={"authorization": f"Bearer {token}"})
        except httpx.TransportError:
            return True  # the server closed the connection mid-request
    assert r.status_code in (400, 401, 431), r.text
    return r.status_code != 401


async def test_oversized_headers_are_refused_by_the_running_service(
    start_service: Callable[[str], Awaitable[Any]],
) -> None:
    feedback = await start_service("feedback")
    url = f"{feedback.url}/v1/reports/funnel"
    assert not await refused(url, 8 * KIB), "a large but sane header reaches the app (401)"
    for size in (64 * KIB, 2048 * KIB):
        assert await refused(url, size), f"a {size // KIB} KiB header was served"
    async with httpx.AsyncClient() as client:
        r = await client.get(url, headers={"x-padding": "p" * (20 * KIB)})
    assert r.status_code == 431 and r.headers["content-type"] == "application/problem+json"
    assert (await httpx.AsyncClient().get(f"{feedback.url}/healthz")).status_code == 200


async def test_a_revoked_key_stops_working_in_another_process_at_once(
    start_service: Callable[[str], Awaitable[Any]], database_url: str
) -> None:
    engine = create_async_engine(to_asyncpg_url(database_url))
    try:
        key_id, key = await create_key(engine, "marketing-ops", ["reports:read"])
        feedback = await start_service("feedback")
        url = f"{feedback.url}/v1/reports/funnel"
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {key}"}) as client:
            assert (await client.get(url)).status_code == 200  # and now in its cache
            started = time.monotonic()
            assert await revoke_key(engine, key_id)  # this process, as the CLI does

            async def refused_now() -> bool:
                return (await client.get(url)).status_code == 401

            await wait_for(refused_now, timeout_s=5, what="the revoked key to be refused")
        assert time.monotonic() - started < 5, "the cache's 10 s, not the NOTIFY"
    finally:
        await engine.dispose()
