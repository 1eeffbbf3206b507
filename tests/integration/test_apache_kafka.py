"""Apache Kafka (KRaft, one node) as leadloop_cli.kafka.ApacheKafka runs it: started from the
jars `make kafka` fetched, configured by deploy/kafka/server.properties, health-checked and
stopped by the same class; the idempotent producer (which Tansu refuses) works on it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from leadloop_cli.infra import EmbeddedBroker, port_accepts
from leadloop_cli.kafka import ApacheKafka
from leadloop_messaging.provisioning import ensure_topics

from ..brokers import connect, harness_security
from .apache_kafka import require_kafka


async def produce_idempotently(bootstrap_servers: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(**connect(bootstrap_servers), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"ACME-DENTAL")
    finally:
        await producer.stop()


async def consume_one(bootstrap_servers: str, topic: str, group: str) -> bytes | None:
    consumer = AIOKafkaConsumer(
        topic,
        **connect(bootstrap_servers),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()
    return record.value


async def test_an_idempotent_producer_record_is_consumed_by_a_group(kafka: ApacheKafka) -> None:
    assert kafka.healthy() and kafka.formatted
    topic = f"leads.kafka-{uuid.uuid4().hex[:8]}"
    security = harness_security(kafka.bootstrap_servers)
    assert await ensure_topics(kafka.bootstrap_servers, {topic: 3}, security=security) == [topic]

    await produce_idempotently(kafka.bootstrap_servers, topic, b"ACME-DENTAL form fill")

    value = await consume_one(kafka.bootstrap_servers, topic, f"scoring-{uuid.uuid4().hex[:6]}")
    assert value == b"ACME-DENTAL form fill"


async def test_the_broker_runs_the_repository_server_properties(kafka: ApacheKafka) -> None:
    admin = AIOKafkaAdminClient(**connect(kafka.bootstrap_servers))
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
    assert configs["auto.create.topics.enable"] == "false"
    assert configs["group.initial.rebalance.delay.ms"] == "0"
    assert configs["num.partitions"] == "6"
    assert configs["offsets.topic.replication.factor"] == "1"
    assert configs["log.dirs"] == str(kafka.data_dir / "log")


def test_a_second_broker_on_a_port_in_use_is_refused(kafka: ApacheKafka) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        ApacheKafka(kafka.port).start()


async def test_records_survive_a_restart_and_a_stopped_broker_is_gone(tmp_path: Path) -> None:
    require_kafka()
    broker = ApacheKafka(data_dir=tmp_path / "kafka", log_path=tmp_path / "kafka.log")
    topic = "leads.restart"
    with broker:
        assert broker.formatted
        await ensure_topics(broker.bootstrap_servers, {topic: 1})
        await produce_idempotently(broker.bootstrap_servers, topic, b"rep-alice touch")
    assert not broker.is_running() and not broker.healthy()
    assert not port_accepts(broker.host, broker.port)
    assert (tmp_path / "kafka" / "log" / "meta.properties").exists()  # kept: not a temp dir

    again = ApacheKafka(broker.port, data_dir=tmp_path / "kafka", log_path=tmp_path / "kafka.log")
    with again:
        assert not again.formatted
        value = await consume_one(again.bootstrap_servers, topic, "feedback-restart")
    assert value == b"rep-alice touch"


def test_the_embedded_broker_has_the_same_health_check(tmp_path: Path) -> None:
    embedded = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    with embedded:
        assert embedded.healthy()
    assert not embedded.healthy()
