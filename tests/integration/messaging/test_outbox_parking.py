"""A record the broker refuses for good is parked with its error, and the outbox moves on
(issue #12, item 3: one oversized event jammed a service's outbox for ever, silently)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import EventTooLarge, UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.intake import LeadErased
from leadloop_events.limits import MAX_RECORD_BYTES
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.parked import parked_rows
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform import metrics
from leadloop_platform.settings import CommonSettings

from ...brokers import connect
from ...waiting import wait_for
from .support import erased, read_all

pytestmark = pytest.mark.both_brokers


async def publish(engine: AsyncEngine, prefix: str, lead: str, n: int) -> str:
    async with UnitOfWork(engine, outbox, prefix) as uow:
        event = erased(lead, n)
        uow.publish(topics.INTAKE, event)
        await uow.commit()
        return event.id


async def write_oversized_row(engine: AsyncEngine, prefix: str, lead: str) -> str:
    """What an older release let through: a row larger than the producer's record limit."""
    event_id = str(uuid.uuid4())
    payload = json.dumps({"id": event_id, "padding": "x" * (MAX_RECORD_BYTES + 1000)}).encode()
    async with engine.begin() as conn:
        await conn.execute(
            outbox.insert().values(
                event_id=event_id,
                topic=prefix + topics.INTAKE,
                key=lead,
                event_type=LeadErased.event_type,
                payload=payload,
            )
        )
    return event_id


def gauge(metric: object, service: str) -> float:
    value: float = metric.labels(service)._value.get()  # type: ignore[attr-defined]
    return value


async def test_an_oversized_row_is_parked_and_every_later_row_is_published(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    prefix = settings.topic_prefix
    before = [await publish(engine, prefix, "lead-ACME-DENTAL", 0)]
    big = await write_oversized_row(engine, prefix, "lead-ACME-DENTAL")
    after = [
        await publish(engine, prefix, "lead-ACME-DENTAL", 1),
        await publish(engine, prefix, "lead-GLOBEX", 0),
    ]
    service = f"parking-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(
        service=service,
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
        poll_interval_s=0.1,
    )
    task = asyncio.create_task(relay.run())
    try:

        async def parked_and_counted() -> bool:
            return (
                gauge(metrics.OUTBOX_PARKED, service) == 1
                and gauge(metrics.OUTBOX_BACKLOG, service) == 0
            )

        await wait_for(parked_and_counted, what="the oversized row parked and the gauges right")
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)

    async with engine.connect() as conn:
        rows = {r.event_id: r for r in await conn.execute(sa.select(outbox))}
    assert rows[big].parked_at is not None and rows[big].sent_at is None
    assert "MessageSizeTooLargeError" in rows[big].park_error
    assert all(rows[i].sent_at is not None and rows[i].parked_at is None for i in before + after)
    assert gauge(metrics.OUTBOX_OLDEST_AGE, service) == 0
    # What `leadloop outbox parked` lists.
    [listed] = await parked_rows(engine, ["intake", "no_such_schema"])
    assert (listed.event_id, listed.key) == (big, "lead-ACME-DENTAL")
    assert listed.size > MAX_RECORD_BYTES and "MessageSizeTooLargeError" in listed.error

    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=len(before + after)
    )
    # Each normal row once: nothing ahead of the big one is republished in a loop.
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(before + after)


async def test_the_unit_of_work_refuses_an_event_over_the_outbox_limit(
    engine: AsyncEngine, settings: CommonSettings
) -> None:
    lead = "lead-INITECH"
    huge = new_event(LeadErased(lead_id=lead, erased_at=erased(lead, 0).time), subject=lead)
    huge = huge.model_copy(update={"data": {**huge.data, "padding": "x" * MAX_RECORD_BYTES}})
    async with UnitOfWork(engine, outbox, settings.topic_prefix) as uow:
        uow.publish(topics.INTAKE, huge)
        with pytest.raises(EventTooLarge) as refused:
            await uow.commit()
    assert refused.value.status == 413 and isinstance(refused.value, ValueError)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0


async def test_the_gauges_tell_the_truth_while_the_broker_refuses_everything(
    engine: AsyncEngine, settings: CommonSettings
) -> None:
    ids = [await publish(engine, settings.topic_prefix, "lead-UMBRELLA", n) for n in range(3)]
    # A producer that can send nothing (closed): every batch fails, as with the broker away.
    closed = AIOKafkaProducer(**connect(settings.kafka_bootstrap_servers))
    await closed.start()
    # It knows the topic first (Tansu's first metadata answer lists every topic, Kafka's none):
    # closed, it fails each send at once instead of waiting for metadata it cannot fetch.
    await closed.partitions_for(settings.topic(topics.INTAKE))
    await closed.stop()
    service = f"stuck-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(
        service=service,
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=closed,
        poll_interval_s=0.1,
    )
    task = asyncio.create_task(relay.run())
    try:

        async def stuck_and_counted() -> bool:
            return (
                gauge(metrics.OUTBOX_BACKLOG, service) == len(ids)
                and gauge(metrics.OUTBOX_OLDEST_AGE, service) > 0
            )

        await wait_for(stuck_and_counted, what="the backlog gauges to show the stuck rows")
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)
    assert gauge(metrics.OUTBOX_PARKED, service) == 0, "a broker away is retried, never parked"
