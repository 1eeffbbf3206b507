"""The runtime builds the consumer from the declaration: its topics are the registry's."""

from __future__ import annotations

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from leadloop_db.tables import outbox_table, processed_events_table
from leadloop_db.uow import UnitOfWork
from leadloop_events.envelope import CloudEvent
from leadloop_events.feedback import DealClosed
from leadloop_events.intake import LeadCaptured
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_platform.settings import CommonSettings
from leadloop_runtime import Database, Registry, Service
from leadloop_runtime.service import parts_of


async def capture_lead(uow: UnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
    return None


async def close_deal(uow: UnitOfWork, event: CloudEvent, data: DealClosed) -> None:
    return None


def scoring_like(run_consumer: bool) -> Service[UnitOfWork]:
    settings = CommonSettings(service_name="scoring", topic_prefix="t1-", log_json=False)
    metadata = sa.MetaData(schema="scoring")
    registry: Registry[UnitOfWork] = Registry()
    registry.on(LeadCaptured)(capture_lead)
    registry.on(DealClosed)(close_deal)
    return Service(
        title="scoring",
        description="",
        settings=settings,
        database=Database("scoring", settings, UnitOfWork, outbox_table(metadata)),
        registry=registry,
        processed=processed_events_table(metadata),
        consumer_group="scoring-test",
        run_consumer=run_consumer,
        run_relay=False,
    )


async def test_the_consumer_subscribes_to_the_topics_of_the_handled_types() -> None:
    declared, app, producer = scoring_like(run_consumer=True), FastAPI(), AIOKafkaProducer()
    parts = parts_of(declared, producer, app)
    loop: ConsumerLoop[UnitOfWork] = app.state.consumer_loop
    try:
        assert parts.consumer_loop is loop and parts.relay is None
        assert loop.consumer.subscription() == {"t1-leads.intake", "t1-leads.feedback"}
        assert set(loop.handlers) == {LeadCaptured.event_type, DealClosed.event_type}
        assert loop.name == "scoring-test"
    finally:
        await loop.consumer.stop()
        await producer.stop()
        await declared.database.engine.dispose()


async def test_run_consumer_false_builds_no_consumer() -> None:
    declared, producer = scoring_like(run_consumer=False), AIOKafkaProducer()
    parts = parts_of(declared, producer, FastAPI())
    assert parts.consumer is None and parts.consumer_loop is None
    await producer.stop()
    await declared.database.engine.dispose()
