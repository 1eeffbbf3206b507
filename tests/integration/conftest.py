"""Integration fixtures: settings, engine and producer bound to this test's database and topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_acls import ADMIN
from leadloop_db.engine import make_engine
from leadloop_messaging.idempotence import producer_idempotence
from leadloop_messaging.kafka import make_producer
from leadloop_platform.settings import CommonSettings

from ..brokers import KAFKA, SessionBrokers, security_settings, session_timeout_ms
from ..conftest import Broker


@pytest.fixture(scope="session")
def kafka(_brokers: SessionBrokers) -> ApacheKafka:
    """The session's Apache Kafka (skipped, or failed in CI, without Java); it authenticates
    every client: the tests' own connect as its admin (tests/brokers.py `connect`)."""
    broker = _brokers.get(KAFKA)
    assert isinstance(broker, ApacheKafka)
    return broker


@pytest.fixture
def settings(database_url: str, broker: Broker, topic_prefix: str) -> CommonSettings:
    return CommonSettings(
        service_name="test",
        env="test",
        database_url=database_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        topic_prefix=topic_prefix,
        kafka_session_timeout_ms=session_timeout_ms(broker),
        kafka_heartbeat_interval_ms=500,
        **security_settings(broker, ADMIN),
    )


@pytest.fixture
async def engine(settings: CommonSettings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    """The services' producer: idempotent where the broker supports it (Apache Kafka)."""
    producer = make_producer(settings, idempotent=await producer_idempotence(settings))
    await producer.start()
    yield producer
    await producer.stop()
