"""A fresh embedded broker has none of the records published before: queue every outbox event
again, so consumers (which skip by event id what they already processed) see everything."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from leadloop_cli.services import SERVICES
from leadloop_db.engine import make_engine

OUTBOX_SCHEMAS = sa.text(
    "SELECT table_schema FROM information_schema.tables "
    "WHERE table_name = 'outbox' ORDER BY table_schema"
)


async def requeue_outboxes(database_url: str, env: Mapping[str, str]) -> int:
    """Mark every sent outbox row of every schema unsent again; returns how many."""
    urls = [database_url, *(s.database_url(env, database_url) for s in SERVICES)]
    queued = 0
    for url in dict.fromkeys(urls):
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                schemas = (await conn.execute(OUTBOX_SCHEMAS)).scalars().all()
                for schema in schemas:
                    result = await conn.execute(
                        sa.text(
                            f'UPDATE "{schema}".outbox SET sent_at = NULL '
                            "WHERE sent_at IS NOT NULL"
                        )
                    )
                    queued += result.rowcount
        finally:
            await engine.dispose()
    return queued
