"""Records follow the CloudEvents Kafka binding's structured mode (issue #14, item 8), read back
from a real broker: `content-type: application/cloudevents+json` and no `ce_` header, which
would mark binary mode and make the official SDKs' default reader reject every record."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from cloudevents.core.bindings import kafka
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.deadletter import REFERENCE_TYPE
from leadloop_messaging.relay import OutboxRelay
from leadloop_messaging.replay import replay_dlq
from leadloop_platform.settings import CommonSettings

from ...brokers import harness_security
from .support import erased, read_all

pytestmark = pytest.mark.both_brokers

LEADS = ("lead-ACME-DENTAL", "lead-GLOBEX", "lead-INITECH")


def assert_structured_mode(record: ConsumerRecord[bytes, bytes]) -> None:
    """The binding's structured mode: the content type says so and no header says binary."""
    names = [k for k, _ in record.headers]
    assert [k for k in names if k.startswith("ce_")] == [], names
    headers = dict(record.headers)
    assert headers["content-type"] == b"application/cloudevents+json"
    body = json.loads(record.value)
    assert body["specversion"] == "1.0"
    assert {"id", "source", "type"} <= body.keys()
    assert headers["leadloop_id"] == body["id"].encode()
    assert headers["leadloop_type"] == body["type"].encode()


def assert_structured_mode_without_ids(record: ConsumerRecord[bytes, bytes]) -> None:
    """Structured mode for a record written before the `leadloop_` headers existed."""
    names = [k for k, _ in record.headers]
    assert [k for k in names if k.startswith("ce_")] == [], names
    assert dict(record.headers)["content-type"] == b"application/cloudevents+json"


async def test_relayed_records_are_structured_mode_cloudevents(
    engine: AsyncEngine, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    ids = []
    for n, lead in enumerate(LEADS):
        async with UnitOfWork(engine, outbox, settings.topic_prefix) as uow:
            event = erased(lead, n)
            uow.publish(topics.INTAKE, event)
            await uow.commit()
            ids.append(event.id)
    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
    )
    assert await relay.publish_batch() == len(ids)
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=len(ids)
    )
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(ids)
    for record in records:
        assert_structured_mode(record)
        read_by_the_official_sdk(record)


def read_by_the_official_sdk(record: ConsumerRecord[bytes, bytes]) -> None:
    """The CloudEvents Python SDK's default Kafka reader accepts the record as it is."""
    message = kafka.KafkaMessage(
        headers={k: v for k, v in record.headers}, key=record.key, value=record.value or b""
    )
    event = kafka.from_kafka_event(message)
    body = json.loads(record.value or b"")
    assert event.get_id() == body["id"]
    assert event.get_type() == body["type"]
    assert event.get_source() == body["source"]
    assert event.get_data() == body["data"]


async def test_replay_drops_the_binary_mode_headers_of_older_dead_letters(
    settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    intake = settings.topic(topics.INTAKE)
    event = erased("lead-HOOLI", 1)
    legacy = [
        ("content-type", b"application/cloudevents+json"),
        ("ce_id", event.id.encode()),
        ("ce_type", event.type.encode()),
        ("dlq.error", b"routing table missing"),
    ]
    await producer.send_and_wait(
        topics.dlq(intake), value=event.to_bytes(), key=b"lead-HOOLI", headers=legacy
    )
    # A reference parked by an older release: only its `ce_type` says what it is.
    await producer.send_and_wait(
        topics.dlq(intake),
        value=b'{"type": "leadloop.dlq.reference.v1"}',
        key=b"lead-HOOLI",
        headers=[("ce_type", REFERENCE_TYPE.encode())],
    )
    result = await replay_dlq(
        settings.kafka_bootstrap_servers,
        intake,
        group_id=f"replay-{uuid.uuid4().hex[:8]}",
        security=harness_security(settings.kafka_bootstrap_servers),
    )
    assert result.replayed == 1
    [record] = await read_all(settings.kafka_bootstrap_servers, intake, expect=1)
    assert_structured_mode_without_ids(record)
    assert dict(record.headers)["replayed"] == b"true"
