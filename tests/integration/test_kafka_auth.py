"""Apache Kafka with authentication and ACLs (deploy/kafka/sasl.properties, kafka_acls):
every client authenticates with SCRAM-SHA-512, each service as its own principal, allowed to
write only its own topic (and the DLQs of what it consumes) and to read what its handler registry
consumes, in its own consumer group. The services' own client options (client_security) are used."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_acls import ADMIN, acl_plan
from leadloop_cli.kafka_auth import KafkaAuth
from leadloop_cli.kafka_cmd import password_variable
from leadloop_cli.main import main as cli
from leadloop_cli.services import SERVICES
from leadloop_events import topics
from leadloop_messaging.kafka import client_security
from leadloop_messaging.provisioning import ensure_topics, topic_plan
from leadloop_platform.settings import CommonSettings

from .test_apache_kafka import require_kafka

TIMEOUT_S = 30


@pytest.fixture(scope="module")
def auth() -> KafkaAuth:
    return KafkaAuth.generate()


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory, auth: KafkaAuth) -> Iterator[ApacheKafka]:
    require_kafka()
    log = tmp_path_factory.mktemp("kafka-auth") / "kafka.log"
    broker = ApacheKafka(log_path=log, auth=auth, acls=acl_plan(prefix="")).start()
    try:
        asyncio.run(
            ensure_topics(broker.bootstrap_servers, topic_plan(), security=auth.client(ADMIN))
        )
        yield broker
    finally:
        broker.stop()


def security_of(kafka: ApacheKafka, auth: KafkaAuth, service: str) -> dict[str, Any]:
    """The options the service's own settings give its clients (as in compose and k8s)."""
    settings = CommonSettings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=service,
        kafka_sasl_password=SecretStr(auth.passwords[service]),
    )
    return client_security(settings)


@asynccontextmanager
async def producer(kafka: ApacheKafka, security: dict[str, Any]) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=10_000,
        **security,
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def consume_one(kafka: ApacheKafka, security: dict[str, Any], topic: str, group: str) -> Any:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        **security,
    )
    try:
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), timeout=TIMEOUT_S)
        await consumer.commit()
        return record
    finally:
        await consumer.stop()


async def test_an_unauthenticated_client_is_refused(kafka: ApacheKafka) -> None:
    client = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await client.start()
    await client.stop()


async def test_a_wrong_password_is_refused(kafka: ApacheKafka, auth: KafkaAuth) -> None:
    security = security_of(kafka, auth, "intake") | {"sasl_plain_password": "not-intakes-password"}
    client = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, **security)
    with pytest.raises(KafkaConnectionError):
        await client.start()
    await client.stop()


async def test_a_service_cannot_write_a_topic_it_does_not_own(
    kafka: ApacheKafka, auth: KafkaAuth
) -> None:
    async with producer(kafka, security_of(kafka, auth, "intake")) as intake:
        with pytest.raises(TopicAuthorizationFailedError):
            await intake.send_and_wait(topics.LIFECYCLE, b"forged ACME-DENTAL MQL", key=b"lead-1")


async def test_services_write_their_own_topic_and_read_what_their_registry_consumes(
    kafka: ApacheKafka, auth: KafkaAuth
) -> None:
    captured = f"ACME-DENTAL form fill {uuid.uuid4().hex[:6]}".encode()
    async with producer(kafka, security_of(kafka, auth, "intake")) as intake:
        await intake.send_and_wait(topics.INTAKE, captured, key=b"ACME-DENTAL")

    scoring = security_of(kafka, auth, "scoring")
    record = await consume_one(kafka, scoring, topics.INTAKE, "leadloop-scoring")
    assert record.value == captured
    async with producer(kafka, scoring) as publisher:
        await publisher.send_and_wait(topics.LIFECYCLE, b"ACME-DENTAL scored", key=b"ACME-DENTAL")
        # a record it cannot handle goes to the consumed topic's DLQ
        await publisher.send_and_wait(topics.dlq(topics.INTAKE), captured, key=b"ACME-DENTAL")


async def test_a_service_cannot_read_outside_its_registry_or_in_another_group(
    kafka: ApacheKafka, auth: KafkaAuth
) -> None:
    scoring = security_of(kafka, auth, "scoring")  # scoring does not consume leads.handoff
    with pytest.raises(TopicAuthorizationFailedError):
        await consume_one(kafka, scoring, topics.HANDOFF, "leadloop-scoring")
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_one(kafka, scoring, topics.INTAKE, "leadloop-routing")


def test_the_setup_step_creates_users_and_acls_that_outlive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compose's and k8s's broker step: on a broker that knows only the admin, `leadloop topics
    create` and `leadloop kafka acls --apply --users` as the admin; then a restart."""
    require_kafka()
    admin_only, services = KafkaAuth.generate([ADMIN]), KafkaAuth.generate()
    data, log = tmp_path / "kafka", tmp_path / "kafka.log"
    with ApacheKafka(data_dir=data, log_path=log, auth=admin_only) as broker:
        monkeypatch.setenv("LEADLOOP_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
        monkeypatch.setenv("LEADLOOP_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        monkeypatch.setenv("LEADLOOP_KAFKA_SASL_USERNAME", ADMIN)
        monkeypatch.setenv("LEADLOOP_KAFKA_SASL_PASSWORD", admin_only.admin_password)
        for service in SERVICES:
            monkeypatch.setenv(password_variable(service.name), services.passwords[service.name])
        assert cli(["topics", "create"]) == 0
        assert cli(["kafka", "acls", "--apply", "--users"]) == 0

    with ApacheKafka(broker.port, data_dir=data, log_path=log, auth=admin_only) as again:
        assert not again.formatted
        asyncio.run(write_own_topic_only(again, services))


async def write_own_topic_only(kafka: ApacheKafka, auth: KafkaAuth) -> None:
    async with producer(kafka, security_of(kafka, auth, "routing")) as routing:
        await routing.send_and_wait(topics.HANDOFF, b"rep-alice assigned", key=b"ACME-DENTAL")
        with pytest.raises(TopicAuthorizationFailedError):
            await routing.send_and_wait(topics.FEEDBACK, b"forged touch", key=b"ACME-DENTAL")
