"""A body over the limit gets a 413 problem on every POST, PUT and PATCH route of every service:
declared by Content-Length (refused before the app sees it) and streamed with Transfer-Encoding:
chunked and no length (refused as it crosses the limit); nothing of it is kept."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send

from leadloop_intake.adapters import tables as intake_tables
from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, SERVICES, assert_problem, build_app, running

LIMIT = 4096
IMPORT_LIMIT = 65_536
ACTIVITIES_LIMIT = 16_384
LIMITS = {"max_body_bytes": LIMIT}
EXTRA: dict[str, dict[str, Any]] = {
    "intake": {"max_import_bytes": IMPORT_LIMIT, "max_activities_bytes": ACTIVITIES_LIMIT}
}
WRITES = ("post", "put", "patch")


def limit_of(path: str) -> int:
    if path.startswith("/v1/activities"):
        return ACTIVITIES_LIMIT
    return IMPORT_LIMIT if path.startswith("/v1/imports") else LIMIT


async def chunks(total: int, size: int = 1000) -> AsyncIterator[bytes]:
    """`total` bytes as a stream: httpx sends it chunked, with no Content-Length."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


@pytest.mark.parametrize("service", SERVICES)
async def test_a_body_over_the_limit_is_413_on_every_write(
    service: str, settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app(service, settings, **LIMITS, **EXTRA.get(service, {}))
    operations = [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in WRITES
    ]
    assert operations, f"{service} has no write at all"
    lengths: list[bytes | None] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        """The app, noting each request's Content-Length as the app itself receives it."""
        if scope["type"] == "http":
            lengths.append(dict(scope["headers"]).get(b"content-length"))
        await app(scope, receive, send)

    async with (
        running(app, f"http://{service}"),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=recording), base_url=f"http://{service}"
        ) as http,
    ):
        for method, path, operation in operations:
            url = re.sub(r"\{[^}]+\}", "edge-check", path)
            limit = limit_of(path)
            media = list(operation.get("requestBody", {}).get("content", {}))
            headers = {**AUTH, "content-type": media[0] if media else "application/json"}
            declared = await http.request(method, url, content=b" " * (limit + 1), headers=headers)
            assert "content too large" in assert_problem(declared, 413)["title"].lower()
            assert "content-length" in declared.headers
            if not media:
                # The route takes no body and never reads one: a stream it ignores costs nothing.
                continue
            streamed = await http.request(method, url, content=chunks(limit + 1), headers=headers)
            assert_problem(streamed, 413)
            assert lengths[-1] is None, "the streamed request declared its length"
            # Just under the limit is not refused for its size.
            fits = await http.request(method, url, content=chunks(limit), headers=headers)
            assert fits.status_code != 413, (method, url, fits.text)
    if service == "intake":
        async with engine.connect() as conn:
            kept = sa.select(sa.func.count()).select_from(intake_tables.submissions)
            assert await conn.scalar(kept) == 0
