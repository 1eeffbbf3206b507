"""Async engine and sessions on asyncpg."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from leadloop_platform.settings import to_asyncpg_url


def make_engine(
    database_url: str, *, pool_size: int = 10, application_name: str = "leadloop"
) -> AsyncEngine:
    """An engine for `postgresql://...` (the asyncpg driver is chosen here)."""
    return create_async_engine(
        to_asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"server_settings": {"application_name": application_name}},
    )
