"""Rows written straight into a service's tables for a bench: in chunks, one transaction each,
with a progress line, then a last step and the tables analysed (tests/bench/history.py,
tests/bench/rescore_seed.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_db.engine import make_engine

Write = Callable[[AsyncConnection, int, int], Awaitable[None]]


async def in_chunks(
    db_url: str,
    count: int,
    chunk: int,
    write: Write,
    progress: str,
    *,
    then: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    analyze: Iterable[str] = (),
) -> float:
    """`write(conn, first, last)` over 1..count, `chunk` a transaction, printing `progress`
    (formatted with last and count); then `then` in a transaction of its own and ANALYZE of
    each table in `analyze`. Seconds it took."""
    started = time.perf_counter()
    engine = make_engine(db_url, pool_size=1)
    try:
        for first in range(1, count + 1, chunk):
            last = min(count, first + chunk - 1)
            async with engine.begin() as conn:
                await write(conn, first, last)
            print(progress.format(last=last, count=count), flush=True)
        if then is not None:
            async with engine.begin() as conn:
                await then(conn)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in analyze:
                await conn.execute(sa.text(f"ANALYZE {table}"))
    finally:
        await engine.dispose()
    return round(time.perf_counter() - started, 1)
