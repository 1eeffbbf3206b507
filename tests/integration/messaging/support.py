"""Helpers for the messaging tests (and the end-to-end and fault tests): a scratch effects
table, producing and reading topics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import LeadErased

from ...brokers import connect

effects = sa.Table(
    "effects",
    sa.MetaData(schema="public"),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("lead_id", sa.String(64), nullable=False),
)


async def create_effects(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(effects.metadata.create_all)


async def record_effect(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
    """A handler whose effect is one row per call, in the unit of work's transaction."""
    await uow.conn.execute(effects.insert().values(event_id=event.id, lead_id=event.subject))


async def effect_count(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(effects.c.event_id, sa.func.count()).group_by(effects.c.event_id)
        )
        return {r[0]: r[1] for r in rows}


def erased(lead: str, n: int) -> CloudEvent:
    """A small valid event for `lead`; `n` travels in the reason so order can be checked."""
    from datetime import UTC, datetime

    return new_event(
        LeadErased(lead_id=lead, erased_at=datetime.now(UTC), reason=str(n)),
        subject=lead,
    )


async def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**connect(bootstrap), acks="all")
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partitions of `topic`, asked by name: a consumer's own first metadata request names
    no topic, which Tansu answers with every topic and Apache Kafka with none."""
    admin = AIOKafkaAdminClient(**connect(bootstrap))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0 and described["partitions"], f"topic {topic} does not exist"
    return sorted(p["partition"] for p in described["partitions"])


@asynccontextmanager
async def from_the_start(
    bootstrap: str, topic: str
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer without a group, assigned every partition of `topic` at offset 0; stopped
    on exit. Yields it and the partitions."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(
        **connect(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        yield consumer, tps
    finally:
        await consumer.stop()


async def read_all(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read `topic` from the start (no group) until `expect` records arrived or time runs out."""
    async with from_the_start(bootstrap, topic) as (consumer, _):
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        return records
