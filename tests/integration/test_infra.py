"""The shared fixtures give a working broker, a migrated per-test database and per-test topics."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadloop_db.engine import make_engine
from leadloop_events import topics
from leadloop_messaging.provisioning import ensure_topics

from ..brokers import connect, harness_security

pytestmark = pytest.mark.both_brokers


async def test_a_record_produced_on_the_broker_is_consumed(bootstrap_servers: str) -> None:
    topic = f"infra-{uuid.uuid4().hex[:8]}"
    # Created first: Apache Kafka, as configured for production, creates no topic on first use.
    assert await ensure_topics(
        bootstrap_servers, {topic: 1}, security=harness_security(bootstrap_servers)
    ) == [topic]
    producer = AIOKafkaProducer(**connect(bootstrap_servers), acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topic, b"ACME-DENTAL form fill", key=b"lead-1", headers=[("ce_type", b"test")]
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        **connect(bootstrap_servers), enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, sent.partition)])
        consumer.seek(TopicPartition(topic, sent.partition), sent.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout=10)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"lead-1", b"ACME-DENTAL form fill")
    assert record.headers == (("ce_type", b"test"),)


async def test_topic_prefix_creates_every_topic_with_its_partitions(
    bootstrap_servers: str, topic_prefix: str
) -> None:
    admin = AIOKafkaAdminClient(**connect(bootstrap_servers))
    await admin.start()
    try:
        names = [topic_prefix + t for t in topics.ALL] + [topic_prefix + topics.dlq(topics.INTAKE)]
        described = {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
    finally:
        await admin.close()
    assert described == {
        **{topic_prefix + t: 3 for t in topics.ALL},
        topic_prefix + topics.dlq(topics.INTAKE): 1,
    }


async def test_each_test_gets_a_migrated_database_of_its_own(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            name = (await conn.execute(sa.text("SELECT current_database()"))).scalar_one()
            schemas = set(
                (await conn.execute(sa.text("SELECT nspname FROM pg_namespace"))).scalars()
            )
            keys = (await conn.execute(sa.text("SELECT count(*) FROM auth.api_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert name.startswith("test_")
    assert "auth" in schemas
    assert keys == 0


async def test_the_intake_schema_is_migrated_when_intake_is_installed(database_url: str) -> None:
    pytest.importorskip("leadloop_intake")
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            versions = (
                (await conn.execute(sa.text("SELECT version_num FROM intake.alembic_version")))
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert len(versions) == 1


def test_settings_env_points_at_this_tests_database_and_topics(
    settings_env: dict[str, str], database_url: str, topic_prefix: str, bootstrap_servers: str
) -> None:
    assert settings_env["DATABASE_URL"] == database_url
    assert settings_env["LEADLOOP_TOPIC_PREFIX"] == topic_prefix
    assert settings_env["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap_servers
    assert settings_env["LEADLOOP_ENV"] == "test"
