"""The consumer loop on a real broker and Postgres: dedupe, DLQ, commit after the transaction,
resume after restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_intake.adapters.tables import outbox, processed_events
from leadloop_messaging.consumer import ConsumerLoop, Handler
from leadloop_messaging.kafka import make_consumer
from leadloop_platform.settings import CommonSettings

from ...brokers import connect, harness_security
from ...waiting import wait_for
from .support import (
    create_effects,
    effect_count,
    erased,
    partitions_of,
    produce,
    read_all,
    record_effect,
)

pytestmark = pytest.mark.both_brokers

LoopFactory = Callable[..., ConsumerLoop]


@pytest.fixture
async def loops(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> AsyncIterator[LoopFactory]:
    """Build consumer loops for the test's intake topic; stops whatever is still running."""
    await create_effects(engine)
    running: list[tuple[ConsumerLoop, asyncio.Task[None]]] = []
    group = f"test-{uuid.uuid4().hex[:8]}"

    def start(handler: Handler[UnitOfWork] = record_effect, **kwargs: object) -> ConsumerLoop:
        consumer = make_consumer(settings, settings.topic(topics.INTAKE), group_id=group)
        loop = ConsumerLoop(
            service="test",
            consumer_name="test-consumer",
            consumer=consumer,
            dlq_producer=producer,
            uow_factory=lambda: UnitOfWork(engine, outbox, settings.topic_prefix),
            processed=processed_events,
            handlers={"leadloop.lead.erased.v1": handler},
            retry_backoff_s=0.01,
            **kwargs,  # type: ignore[arg-type]
        )

        async def run() -> None:
            await consumer.start()
            try:
                await loop.run()
            finally:
                await consumer.stop()

        running.append((loop, asyncio.create_task(run())))
        return loop

    start.group = group  # type: ignore[attr-defined]
    yield start
    for loop, task in running:
        loop.stop()
        await asyncio.wait_for(task, 30)


async def produce_events(settings: CommonSettings, events: list[CloudEvent]) -> None:
    await produce(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.INTAKE),
        [(e.subject.encode() if e.subject else b"", e.to_bytes()) for e in events],
    )


async def committed_total(settings: CommonSettings, group: str) -> int:
    """Sum of the group's committed offsets over the topic's partitions."""
    consumer = AIOKafkaConsumer(
        **connect(settings.kafka_bootstrap_servers), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        topic = settings.topic(topics.INTAKE)
        total = 0
        for p in await partitions_of(settings.kafka_bootstrap_servers, topic):
            total += await consumer.committed(TopicPartition(topic, p)) or 0
        return total
    finally:
        await consumer.stop()


async def test_a_redelivered_event_takes_effect_once(
    engine: AsyncEngine, settings: CommonSettings, loops: LoopFactory
) -> None:
    first, second = erased("lead-ACME-DENTAL", 1), erased("lead-GLOBEX", 2)
    await produce_events(settings, [first, first, second, first])
    loops()

    async def all_handled() -> bool:
        return await committed_total(settings, loops.group) == 4  # type: ignore[attr-defined]

    await wait_for(all_handled, what="4 records committed")
    assert await effect_count(engine) == {first.id: 1, second.id: 1}


async def test_failing_handler_is_retried_then_dead_lettered_and_the_stream_flows(
    engine: AsyncEngine, settings: CommonSettings, loops: LoopFactory
) -> None:
    poison, good = erased("lead-INITECH", 1), erased("lead-INITECH", 2)
    attempts: list[str] = []

    async def fails_on_poison(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        attempts.append(event.id)
        if event.id == poison.id:
            raise ValueError("the agreement has no rule for this")
        await record_effect(uow, event, data)

    await produce_events(settings, [poison, good])
    await produce(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.INTAKE),
        [(b"lead-INITECH", b"{not json")],
    )
    loops(fails_on_poison, max_retries=2)

    dlq = await read_all(
        settings.kafka_bootstrap_servers, topics.dlq(settings.topic(topics.INTAKE)), expect=2
    )
    assert len(dlq) == 2
    failed, invalid = sorted(dlq, key=lambda r: dict(r.headers)["dlq.error_type"] != b"ValueError")
    headers = dict(failed.headers)
    assert failed.value == poison.to_bytes()
    assert headers["dlq.error"] == b"the agreement has no rule for this"
    assert headers["dlq.topic"] == settings.topic(topics.INTAKE).encode()
    assert headers["dlq.attempts"] == b"3"
    assert {"dlq.partition", "dlq.offset", "dlq.consumer"} <= set(headers)
    assert dict(invalid.headers)["dlq.error_type"] == b"InvalidEvent"
    assert attempts.count(poison.id) == 3
    assert await effect_count(engine) == {good.id: 1}


async def test_offsets_are_committed_only_after_the_transaction(
    engine: AsyncEngine, settings: CommonSettings, loops: LoopFactory
) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        await record_effect(uow, event, data)
        entered.set()
        await release.wait()

    event = erased("lead-HOOLI", 1)
    await produce_events(settings, [event])
    loops(slow)
    await asyncio.wait_for(entered.wait(), 30)
    # The handler is inside its transaction: nothing is committed, nothing is visible.
    assert await committed_total(settings, loops.group) == 0  # type: ignore[attr-defined]
    assert await effect_count(engine) == {}
    release.set()

    async def committed() -> bool:
        return await committed_total(settings, loops.group) == 1  # type: ignore[attr-defined]

    await wait_for(committed, what="the offset commit after the transaction")
    assert await effect_count(engine) == {event.id: 1}


async def test_a_restarted_consumer_resumes_after_its_last_commit(
    engine: AsyncEngine, settings: CommonSettings, loops: LoopFactory
) -> None:
    before = [erased("lead-ACME-DENTAL", n) for n in range(5)]
    after = [erased("lead-ACME-DENTAL", n) for n in range(5, 8)]
    await produce_events(settings, before)
    seen: list[str] = []

    async def track(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        seen.append(event.id)
        await record_effect(uow, event, data)

    first = loops(track)

    def committed(n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await committed_total(settings, loops.group) == n  # type: ignore[attr-defined]

        return check

    await wait_for(committed(5), what="the first run to commit 5")
    first.stop()
    seen.clear()
    await produce_events(settings, after)
    loops(track)
    await wait_for(committed(8), what="the second run to commit 8")
    assert seen == [e.id for e in after]
    assert sum((await effect_count(engine)).values()) == 8


async def test_dead_letters_replayed_after_the_fix_are_processed(
    engine: AsyncEngine, settings: CommonSettings, loops: LoopFactory
) -> None:
    from leadloop_messaging.replay import replay_dlq

    stuck = erased("lead-GLOBEX", 1)
    broken = True

    async def until_fixed(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        if broken:
            raise RuntimeError("routing table missing")
        await record_effect(uow, event, data)

    await produce_events(settings, [stuck])
    loops(until_fixed, max_retries=0)
    dlq_topic = topics.dlq(settings.topic(topics.INTAKE))
    assert len(await read_all(settings.kafka_bootstrap_servers, dlq_topic, expect=1)) == 1
    broken = False
    result = await replay_dlq(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.INTAKE),
        group_id=f"replay-{loops.group}",  # type: ignore[attr-defined]
        security=harness_security(settings.kafka_bootstrap_servers),
    )
    assert result.replayed == 1

    async def processed() -> bool:
        return await effect_count(engine) == {stuck.id: 1}

    await wait_for(processed, what="the replayed record to be processed")
    again = await replay_dlq(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.INTAKE),
        group_id=f"replay-{loops.group}",  # type: ignore[attr-defined]
        security=harness_security(settings.kafka_bootstrap_servers),
        idle_timeout_ms=500,
    )
    assert again.replayed == 0
