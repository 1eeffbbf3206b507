"""A partition's poll batch in one transaction, on a real broker and PostgreSQL: the claim, the
handlers, one outbox insert and one NOTIFY, one commit; a poison record found alone; duplicates;
PostgreSQL restarted in the middle of a batch.

The batches are the records of one partition read back from the broker and handed to
`handle_batch`, as `run` does with a poll's records, so that each test knows its batch.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import ClassVar

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import REGISTRY, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.infra import EmbeddedPostgres
from leadloop_db.engine import make_engine
from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import LeadErased
from leadloop_intake.adapters.tables import outbox, processed_events
from leadloop_messaging.consumer import ConsumerLoop, Handler
from leadloop_platform.settings import CommonSettings

from .support import create_effects, effect_count, erased, produce, read_all, record_effect

pytestmark = pytest.mark.both_brokers

CONSUMER = "batch-consumer"
# Counted only when the transaction that observed it commits (UnitOfWork.observe).
OBSERVED = Histogram("leadloop_test_batch_observed", "Test: handler observations.", ["service"])


def count_of(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counter[str]]:
    """Statements by kind (claim, effect, the outbox rows with the relay's wake-up) and commits
    on `engine`."""
    counts: Counter[str] = Counter()

    def statement(conn: object, cursor: object, sql: str, *args: object) -> None:
        kinds = {
            "INSERT INTO intake.processed_events": "claim",
            "INSERT INTO public.effects": "effect",
            "NOTIFY": "notify",
        }
        for prefix, kind in kinds.items():
            if sql.startswith(prefix):
                counts[kind] += 1
        if "INSERT INTO intake.outbox" in sql:
            counts["outbox and notify" if "pg_notify(" in sql else "outbox"] += 1

    def commit(conn: object) -> None:
        counts["commit"] += 1

    sync = engine.sync_engine
    sa.event.listen(sync, "before_cursor_execute", statement)
    sa.event.listen(sync, "commit", commit)
    try:
        yield counts
    finally:
        sa.event.remove(sync, "before_cursor_execute", statement)
        sa.event.remove(sync, "commit", commit)


async def transactions_that_claimed(engine: AsyncEngine) -> int:
    """How many transactions wrote the consumer's processed-events rows (their xmin)."""
    async with engine.connect() as conn:
        query = sa.text(
            "SELECT count(DISTINCT xmin::text) FROM intake.processed_events WHERE consumer = :c"
        )
        return int((await conn.execute(query, {"c": CONSUMER})).scalar_one())


async def one_partition(
    settings: CommonSettings, events: list[CloudEvent], lead: str
) -> list[ConsumerRecord[bytes, bytes]]:
    """Produce `events` on one key (so one partition) and read them back, in offset order."""
    topic = settings.topic(topics.INTAKE)
    await produce(
        settings.kafka_bootstrap_servers, topic, [(lead.encode(), e.to_bytes()) for e in events]
    )
    records = await read_all(settings.kafka_bootstrap_servers, topic, expect=len(events))
    assert len({r.partition for r in records}) == 1 and len(records) == len(events)
    return sorted(records, key=lambda r: r.offset)


class Loops:
    """Builds consumer loops over a unit of work whose observers see what committed."""

    def __init__(self, engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer):
        self.engine, self.settings, self.producer = engine, settings, producer
        self.committed: list[CloudEvent] = []
        self.steps: list[int] = []  # how many events each handler's step saw in `uow.events`

    def __call__(self, handler: Handler[UnitOfWork], **kwargs: object) -> ConsumerLoop[UnitOfWork]:
        committed = self.committed

        class Observed(UnitOfWork):
            observers: ClassVar[tuple[CommittedObserver, ...]] = (committed.extend,)

        return ConsumerLoop(
            service=f"batch-{uuid.uuid4().hex[:8]}",
            consumer_name=CONSUMER,
            consumer=None,  # type: ignore[arg-type]  # handle_batch only
            dlq_producer=self.producer,
            uow_factory=lambda: Observed(self.engine, outbox, self.settings.topic_prefix),
            processed=processed_events,
            handlers={LeadErased.event_type: handler},
            retry_backoff_s=0.01,
            **kwargs,  # type: ignore[arg-type]
        )

    def publishing(self, also: Handler[UnitOfWork] = record_effect) -> Handler[UnitOfWork]:
        """`also`, then publish one event and observe one measurement, as handlers do."""

        async def handler(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
            await also(uow, event, data)
            uow.publish(topics.INTAKE, new_event(data, subject=event.subject))
            self.steps.append(len(uow.events))
            uow.observe(OBSERVED, 1.0, "batch")

        return handler


@pytest.fixture
async def loops(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> AsyncIterator[Loops]:
    await create_effects(engine)
    yield Loops(engine, settings, producer)


async def test_a_batch_of_n_is_one_transaction_with_one_claim_outbox_insert_and_notify(
    engine: AsyncEngine, settings: CommonSettings, loops: Loops
) -> None:
    events = [erased("lead-ACME-DENTAL", n) for n in range(40)]
    records = await one_partition(settings, events, "lead-ACME-DENTAL")
    loop = loops(loops.publishing())
    observed = count_of("leadloop_test_batch_observed_count", service="batch")
    with counting(engine) as counts:
        await loop.handle_batch(records)
    assert counts == {"claim": 1, "effect": 40, "outbox and notify": 1, "commit": 1}
    assert await transactions_that_claimed(engine) == 1
    assert await effect_count(engine) == {e.id: 1 for e in events}
    # Each step saw only its own event; the observers saw the batch's 40 once.
    assert loops.steps == [1] * 40 and len(loops.committed) == 40
    assert count_of("leadloop_test_batch_observed_count", service="batch") == observed + 40
    ok = count_of(
        "leadloop_events_consumed_total",
        service=loop.service,
        topic=records[0].topic,
        type=LeadErased.event_type,
        outcome="ok",
    )
    assert ok == 40


async def test_a_poison_record_in_the_middle_alone_goes_to_the_dlq_its_neighbours_once(
    engine: AsyncEngine, settings: CommonSettings, loops: Loops
) -> None:
    events = [erased("lead-GLOBEX", n) for n in range(9)]
    poison = events[4]
    calls: list[str] = []

    async def fails_on_poison(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        calls.append(event.id)
        if event.id == poison.id:
            raise ValueError("the agreement has no rule for this")
        await record_effect(uow, event, data)

    records = await one_partition(settings, events, "lead-GLOBEX")
    loop = loops(loops.publishing(fails_on_poison), max_retries=2)
    with counting(engine) as counts:
        await loop.handle_batch(records)
    dlq = await read_all(
        settings.kafka_bootstrap_servers, topics.dlq(settings.topic(topics.INTAKE)), expect=1
    )
    assert [r.value for r in dlq] == [poison.to_bytes()]
    sent = count_of("leadloop_dlq_records_total", service=loop.service, topic=records[0].topic)
    assert sent == 1  # the poison alone, never its batch
    assert dict(dlq[0].headers)["dlq.attempts"] == b"3" and calls.count(poison.id) == 3
    good = [e for e in events if e is not poison]
    assert await effect_count(engine) == {e.id: 1 for e in good}
    # Before the poison, one transaction; after it, one more; the poison's own never commit.
    assert counts["commit"] == 2 and await transactions_that_claimed(engine) == 2
    assert len(loops.committed) == 8 and len({e.subject for e in loops.committed}) == 1


async def test_duplicates_in_a_batch_and_a_redelivered_batch_take_effect_once(
    engine: AsyncEngine, settings: CommonSettings, loops: Loops
) -> None:
    first, second = erased("lead-HOOLI", 1), erased("lead-HOOLI", 2)
    records = await one_partition(settings, [first, first, second, first], "lead-HOOLI")
    loop = loops(record_effect)
    await loop.handle_batch(records)
    await loop.handle_batch(records)  # the partition re-read after a rebalance
    assert await effect_count(engine) == {first.id: 1, second.id: 1}
    assert await transactions_that_claimed(engine) == 1
    labels = {"service": loop.service, "topic": records[0].topic, "type": LeadErased.event_type}
    assert count_of("leadloop_events_consumed_total", **labels, outcome="ok") == 2
    assert count_of("leadloop_events_consumed_total", **labels, outcome="duplicate") == 6


@pytest.mark.timeout(180)
async def test_postgres_restarted_during_a_batch_is_waited_for_never_dead_lettered(
    embedded_postgres: EmbeddedPostgres,
    engine: AsyncEngine,
    database_url: str,
    settings: CommonSettings,
    producer: AIOKafkaProducer,
) -> None:
    await create_effects(engine)
    events = [erased("lead-INITECH", n) for n in range(8)]
    records = await one_partition(settings, events, "lead-INITECH")
    entered, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def held_in_the_middle(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
        calls.append(event.id)
        if event.id == events[4].id and not entered.is_set():
            entered.set()
            await release.wait()
        await record_effect(uow, event, data)

    own = make_engine(database_url, pool_size=2)
    loops = Loops(own, settings, producer)
    loop = loops(held_in_the_middle, max_retries=0)
    try:
        task = asyncio.create_task(loop.handle_batch(records))
        await asyncio.wait_for(entered.wait(), 30)
        # A fast shutdown ends the batch's session in the middle of its transaction.
        await asyncio.to_thread(embedded_postgres.stop)
        await asyncio.to_thread(embedded_postgres.start)
        release.set()
        await asyncio.wait_for(task, 120)
    finally:
        release.set()
        await own.dispose()
    await engine.dispose()  # its pooled connections died with the server
    assert await effect_count(engine) == {e.id: 1 for e in events}
    assert await transactions_that_claimed(engine) == 1
    assert calls.count(events[0].id) >= 2  # the whole batch again, after the restart
    labels = {"service": loop.service, "topic": records[0].topic, "type": LeadErased.event_type}
    assert count_of("leadloop_events_consumed_total", **labels, outcome="retried") == 0
    assert count_of("leadloop_events_consumed_total", **labels, outcome="dead_lettered") == 0
