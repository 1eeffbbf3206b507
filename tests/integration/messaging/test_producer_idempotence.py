"""The idempotent producer is detected at start (issue #16, item 3): off against the embedded
broker (Tansu advertises InitProducerId but refuses it), on against Apache Kafka; the relay
publishes through the producer chosen either way."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_acls import ADMIN
from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.idempotence import IdempotenceUnsupported, producer_idempotence
from leadloop_messaging.kafka import make_producer
from leadloop_messaging.provisioning import ensure_topics, topic_plan
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.settings import CommonSettings

from ...brokers import connect, harness_security, security_settings
from ...conftest import TEST_PARTITIONS, Broker
from .support import erased

LEADS = ("lead-ACME-DENTAL", "lead-GLOBEX")
PER_LEAD = 5


def gauge(service: str) -> float | None:
    return REGISTRY.get_sample_value("leadloop_kafka_idempotent_producer", {"service": service})


async def read_back(bootstrap: str, topic: str, expect: int) -> list[ConsumerRecord[bytes, bytes]]:
    """Read `topic` from the start, no group, until `expect` records came or 30 s passed.
    Subscribed by name: Apache Kafka's metadata names only the topics a client asks for."""
    consumer = AIOKafkaConsumer(
        topic,
        **connect(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + 30
    try:
        while len(records) < expect and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def relay_round_trip(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    """Write PER_LEAD events per lead to intake's outbox, relay them, and read them back in
    order per lead."""
    for n in range(PER_LEAD):
        for lead in LEADS:
            async with UnitOfWork(engine, outbox, settings.topic_prefix) as uow:
                uow.publish(topics.INTAKE, erased(lead, n))
                await uow.commit()
    relay = OutboxRelay(
        service=settings.service_name,
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
    )
    assert await relay.publish_batch() == PER_LEAD * len(LEADS)
    records = await read_back(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), PER_LEAD * len(LEADS)
    )
    by_lead: dict[str, list[tuple[int, int]]] = {}
    for record in records:
        body = json.loads(record.value)
        by_lead.setdefault(body["subject"], []).append((record.offset, int(body["data"]["reason"])))
    assert len(records) == PER_LEAD * len(LEADS) and sorted(by_lead) == sorted(LEADS)
    for lead, seen in by_lead.items():
        assert [n for _, n in sorted(seen)] == list(range(PER_LEAD)), f"{lead} out of order"


async def started(settings: CommonSettings, idempotent: bool) -> AIOKafkaProducer:
    producer = make_producer(settings, idempotent=idempotent)
    await producer.start()
    return producer


async def test_auto_is_off_against_the_embedded_broker_and_the_relay_works(
    broker: Broker, engine: AsyncEngine, settings: CommonSettings, caplog: pytest.LogCaptureFixture
) -> None:
    if not isinstance(broker, EmbeddedBroker):
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS points at another broker, not the embedded one")
    with caplog.at_level(logging.INFO, logger="leadloop_messaging.idempotence"):
        chosen = await producer_idempotence(settings)
    assert chosen is False
    assert gauge(settings.service_name) == 0
    assert any("idempotent producer off" in r.getMessage() for r in caplog.records)

    forced = settings.model_copy(update={"kafka_enable_idempotence": "true"})
    with pytest.raises(IdempotenceUnsupported, match="refused InitProducerId"):
        await producer_idempotence(forced)

    producer = await started(settings, chosen)
    try:
        assert producer._txn_manager is None
        await relay_round_trip(engine, settings, producer)
    finally:
        await producer.stop()


@pytest.fixture
async def kafka_settings(kafka: ApacheKafka, database_url: str) -> AsyncIterator[CommonSettings]:
    """The integration settings, on Apache Kafka, with this test's topics created there."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    plan = topic_plan(prefix, partitions=TEST_PARTITIONS)
    await ensure_topics(
        kafka.bootstrap_servers, plan, security=harness_security(kafka.bootstrap_servers)
    )
    yield CommonSettings(
        service_name="test-kafka",
        env="test",
        database_url=database_url,
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=prefix,
        **security_settings(kafka, ADMIN),
    )


async def test_auto_is_on_against_apache_kafka_and_the_relay_works(
    kafka_settings: CommonSettings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="leadloop_messaging.idempotence"):
        chosen = await producer_idempotence(kafka_settings)
    assert chosen is True
    assert gauge(kafka_settings.service_name) == 1
    assert any("idempotent producer on" in r.getMessage() for r in caplog.records)
    # true is accepted where the broker supports it; false forces it off without asking.
    assert await producer_idempotence(
        kafka_settings.model_copy(update={"kafka_enable_idempotence": "true"})
    )
    assert not await producer_idempotence(
        kafka_settings.model_copy(update={"kafka_enable_idempotence": "false"})
    )
    assert gauge(kafka_settings.service_name) == 0

    producer = await started(kafka_settings, chosen)
    try:
        # The producer reports idempotence on: the broker granted it a producer id at start.
        manager = producer._txn_manager
        assert manager is not None and manager.has_pid() and manager.producer_id >= 0
        await relay_round_trip(engine, kafka_settings, producer)
    finally:
        await producer.stop()
