"""Reading what happened: whole topics (as records or CloudEvents) and the test's database."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from leadloop_events.envelope import CloudEvent
from leadloop_platform.settings import to_asyncpg_url

from ..integration.messaging.support import from_the_start

SCHEMAS = ("intake", "scoring", "routing", "feedback")

ASSIGNED = "leadloop.lead.assigned.v1"
CAPTURED = "leadloop.lead.captured.v1"
STAGE_CHANGED = "leadloop.lead.stage_changed.v1"


async def read_topic(
    bootstrap: str, topic: str, *, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic`, read from offset 0 (no group) up to each partition's high-water
    mark as the broker reports it with the fetched data."""
    async with from_the_start(bootstrap, topic) as (consumer, tps):
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        done: set[TopicPartition] = set()
        while len(done) < len(tps):
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            for tp in tps:
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    done.add(tp)
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout_s} s")
        return records


async def read_events(bootstrap: str, topic: str) -> list[CloudEvent]:
    """Every record of `topic` as a CloudEvent, physical duplicates included."""
    return [CloudEvent.from_bytes(r.value or b"") for r in await read_topic(bootstrap, topic)]


def db_engine(database_url: str) -> AsyncEngine:
    """The test's own engine; pre-ping so that it survives a PostgreSQL restart."""
    return create_async_engine(to_asyncpg_url(database_url), pool_size=2, pool_pre_ping=True)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text(sql), params)).scalar()


async def unsent_outbox_rows(engine: AsyncEngine) -> dict[str, int]:
    """Schema -> outbox rows not yet published."""
    out = {}
    for schema in SCHEMAS:
        out[schema] = int(
            await scalar(engine, f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")
        )
    return out
