"""Dead letters never stop the stream (issue #12, item 5) and forged events are dead-lettered
(item 14), on a real broker and Postgres."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.feedback import DealClosed
from leadloop_events.intake import LeadErased
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_events.limits import MAX_RECORD_BYTES
from leadloop_intake.adapters.tables import outbox, processed_events
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_messaging.deadletter import REFERENCE_TYPE
from leadloop_messaging.kafka import make_consumer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.settings import CommonSettings

from ...brokers import connect
from ...waiting import wait_for
from .support import (
    create_effects,
    effect_count,
    erased,
    produce,
    read_all,
    record_effect,
)

pytestmark = pytest.mark.both_brokers

Start = Callable[..., ConsumerLoop]
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture
async def start_loop(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> AsyncIterator[Start]:
    """Start a consumer loop on one logical topic that records an effect for every type."""
    await create_effects(engine)
    running: list[tuple[ConsumerLoop, asyncio.Task[None]]] = []

    def start(topic: str, dlq_producer: AIOKafkaProducer = producer) -> ConsumerLoop:
        consumer = make_consumer(
            settings, settings.topic(topic), group_id=f"test-{uuid.uuid4().hex[:8]}"
        )
        loop = ConsumerLoop(
            service="test",
            consumer_name="test-consumer",
            consumer=consumer,
            dlq_producer=dlq_producer,
            uow_factory=lambda: UnitOfWork(engine, outbox, settings.topic_prefix),
            processed=processed_events,
            handlers={
                LeadErased.event_type: record_effect,
                DealClosed.event_type: record_effect,
                LeadStageChanged.event_type: record_effect,
            },
            max_retries=0,
            retry_backoff_s=0.01,
        )

        async def run() -> None:
            await consumer.start()
            try:
                await loop.run()
            finally:
                await consumer.stop()

        running.append((loop, asyncio.create_task(run())))
        return loop

    yield start
    for loop, task in running:
        loop.stop()
        await asyncio.wait_for(task, 30)


def near_the_limit() -> bytes:
    """Not a parseable event, and so large that the dlq.* headers push it over the limit."""
    return b"[" * 300 + b"x" * (MAX_RECORD_BYTES - 2_000)


async def test_a_record_too_large_to_dead_letter_whole_leaves_a_reference_and_the_stream_flows(
    engine: AsyncEngine, settings: CommonSettings, start_loop: Start
) -> None:
    intake = settings.topic(topics.INTAKE)
    follower = erased("lead-ACME-DENTAL", 1)
    await produce(
        settings.kafka_bootstrap_servers,
        intake,
        [(b"lead-ACME-DENTAL", near_the_limit()), (b"lead-ACME-DENTAL", follower.to_bytes())],
    )
    start_loop(topics.INTAKE)

    async def follower_handled() -> bool:
        return await effect_count(engine) == {follower.id: 1}

    await wait_for(follower_handled, what="the record after the huge one to be handled")
    [ref] = await read_all(settings.kafka_bootstrap_servers, topics.dlq(intake), expect=1)
    headers = dict(ref.headers)
    assert headers["dlq.reference"] == b"true"
    assert headers["dlq.error_type"] == b"InvalidEvent"
    assert headers["leadloop_type"] == REFERENCE_TYPE.encode()
    assert not [k for k in headers if k.startswith("ce_")]
    body = json.loads(ref.value)
    assert body["type"] == REFERENCE_TYPE
    assert (body["topic"], body["offset"]) == (intake, 0)
    assert body["value_bytes"] == len(near_the_limit())
    assert "MessageSizeTooLargeError" in body["dlq_send_error"]
    assert body["value_head"].startswith("[[[")


async def test_a_reference_that_cannot_be_sent_is_parked_in_the_outbox_and_relayed(
    engine: AsyncEngine, settings: CommonSettings, start_loop: Start, producer: AIOKafkaProducer
) -> None:
    intake = settings.topic(topics.INTAKE)
    follower = erased("lead-GLOBEX", 1)
    await produce(
        settings.kafka_bootstrap_servers,
        intake,
        [(b"lead-GLOBEX", b"{not json" * 1000), (b"lead-GLOBEX", follower.to_bytes())],
    )
    # A DLQ producer that refuses every record of more than a few hundred bytes: neither the
    # record nor its reference can be sent.
    tiny = AIOKafkaProducer(**connect(settings.kafka_bootstrap_servers), max_request_size=512)
    await tiny.start()
    try:
        start_loop(topics.INTAKE, dlq_producer=tiny)

        async def follower_handled() -> bool:
            return await effect_count(engine) == {follower.id: 1}

        await wait_for(follower_handled, what="the record after the unsendable one")
    finally:
        await tiny.stop()
    async with engine.connect() as conn:
        parked = (await conn.execute(sa.select(outbox))).all()
    assert [(r.topic, r.event_type) for r in parked] == [(topics.dlq(intake), REFERENCE_TYPE)]

    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
    )
    assert await relay.publish_batch() == 1
    [ref] = await read_all(settings.kafka_bootstrap_servers, topics.dlq(intake), expect=1)
    assert json.loads(ref.value)["value_head"].startswith("{not json")
    # A reference is plain JSON, not a CloudEvent, and names its type outside the `ce_` space.
    assert dict(ref.headers) == {
        "content-type": b"application/json",
        "leadloop_id": parked[0].event_id.encode(),
        "leadloop_type": REFERENCE_TYPE.encode(),
    }


async def test_forged_events_are_dead_lettered_not_applied(
    engine: AsyncEngine, settings: CommonSettings, start_loop: Start
) -> None:
    intake, lifecycle = settings.topic(topics.INTAKE), settings.topic(topics.LIFECYCLE)
    lead = "lead-NEVER-EXISTED"
    # A deal.closed produced onto leads.intake, by someone who is not feedback.
    deal = new_event(
        DealClosed(
            lead_id=lead,
            crm_event_id="c1",
            deal_id="d1",
            stage="won",
            amount=1_000_000,
            currency="EUR",
            closed_at=NOW,
        ),
        subject=lead,
        source="/attacker",
    )
    # A stage_changed to SQL, on the right topic, but not from scoring.
    sql = new_event(
        LeadStageChanged(
            lead_id=lead,
            from_stage="mql",
            to_stage="sql",
            reason="forged",
            agreement_version="v1",
            changed_at=NOW,
        ),
        subject=lead,
        source="/leadloop/intake",
    )
    genuine = erased("lead-HOOLI", 1)
    await produce(
        settings.kafka_bootstrap_servers,
        intake,
        [(lead.encode(), deal.to_bytes()), (b"lead-HOOLI", genuine.to_bytes())],
    )
    await produce(settings.kafka_bootstrap_servers, lifecycle, [(lead.encode(), sql.to_bytes())])
    start_loop(topics.INTAKE)
    start_loop(topics.LIFECYCLE)

    dead = await read_all(settings.kafka_bootstrap_servers, topics.dlq(intake), expect=1)
    dead += await read_all(settings.kafka_bootstrap_servers, topics.dlq(lifecycle), expect=1)
    errors = sorted(dict(r.headers)["dlq.error"].decode() for r in dead)
    assert len(errors) == 2
    assert "leadloop.deal.closed.v1 belongs on leads.feedback" in errors[0]
    assert "comes only from /leadloop/scoring, not from source '/leadloop/intake'" in errors[1]

    async def genuine_handled() -> bool:
        return await effect_count(engine) == {genuine.id: 1}

    await wait_for(genuine_handled, what="the genuine event to be applied")
    assert deal.id not in await effect_count(engine) and sql.id not in await effect_count(engine)
