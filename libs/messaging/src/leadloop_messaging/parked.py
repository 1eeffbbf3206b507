"""Outbox rows the broker refused for good: list them for whoever answers the alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.tables import outbox_table


@dataclass(frozen=True)
class ParkedRow:
    schema: str
    id: int
    event_id: str
    event_type: str
    topic: str
    key: str
    size: int
    parked_at: datetime
    error: str


async def parked_rows(engine: AsyncEngine, schemas: Sequence[str]) -> list[ParkedRow]:
    """Every parked outbox row of `schemas`, oldest first; a schema without an outbox is skipped."""
    found: list[ParkedRow] = []
    async with engine.connect() as conn:
        for schema in schemas:
            exists = await conn.scalar(sa.select(sa.func.to_regclass(f"{schema}.outbox")))
            if exists is None:
                continue
            o = outbox_table(sa.MetaData(schema=schema))
            rows = await conn.execute(
                sa.select(
                    o.c.id,
                    o.c.event_id,
                    o.c.event_type,
                    o.c.topic,
                    o.c.key,
                    sa.func.length(o.c.payload).label("size"),
                    o.c.parked_at,
                    o.c.park_error,
                )
                .where(o.c.parked_at.is_not(None))
                .order_by(o.c.id)
            )
            found += [
                ParkedRow(
                    schema,
                    r.id,
                    r.event_id,
                    r.event_type,
                    r.topic,
                    r.key,
                    r.size,
                    r.parked_at,
                    r.park_error or "",
                )
                for r in rows
            ]
    return found
