"""Apache Kafka with authentication and ACLs (deploy/kafka/sasl.properties, kafka_acls):
every client authenticates with SCRAM-SHA-512, each service as its own principal, allowed to
write only its own topic (and the DLQs of what it consumes) and to read what its handler registry
consumes, in its own consumer group. The services' own client options (client_security), made
from the settings the tests start each service process with, are used.

These run on the session's Apache Kafka (tests/brokers.py), on each test's own topics with the
ACLs `leadloop kafka acls` plans for them; the set-up step with its restart has its own broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
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

from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_acls import ADMIN
from leadloop_cli.kafka_auth import KafkaAuth
from leadloop_cli.kafka_cmd import password_variable
from leadloop_cli.main import main as cli
from leadloop_cli.services import SERVICES
from leadloop_events import topics
from leadloop_messaging.kafka import client_security
from leadloop_platform.settings import CommonSettings

from ..brokers import KAFKA, service_security_env
from ..conftest import Broker
from .test_apache_kafka import require_kafka

TIMEOUT_S = 30
on_session_kafka = pytest.mark.parametrize("broker", [KAFKA], indirect=True, scope="session")


@pytest.fixture
def security_of(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`security_of(service)`: the client options that service's process makes from the
    environment the tests start it with (tests/processes.py)."""

    def options(service: str) -> dict[str, Any]:
        with monkeypatch.context() as env:
            for name, value in service_security_env(broker)[service].items():
                env.setenv(name, value)
            return client_security(CommonSettings())

    return options


@asynccontextmanager
async def producer(bootstrap: str, security: dict[str, Any]) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
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


async def consume_one(bootstrap: str, security: dict[str, Any], topic: str, group: str) -> Any:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
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


@on_session_kafka
async def test_an_unauthenticated_client_is_refused(bootstrap_servers: str) -> None:
    client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await client.start()
    await client.stop()


@on_session_kafka
async def test_a_wrong_password_is_refused(bootstrap_servers: str, security_of: Any) -> None:
    security = security_of("intake") | {"sasl_plain_password": "not-intakes-password"}
    client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, **security)
    with pytest.raises(KafkaConnectionError):
        await client.start()
    await client.stop()


@on_session_kafka
async def test_a_service_cannot_write_a_topic_it_does_not_own(
    bootstrap_servers: str, topic_prefix: str, security_of: Any
) -> None:
    async with producer(bootstrap_servers, security_of("intake")) as intake:
        with pytest.raises(TopicAuthorizationFailedError):
            forged = b"forged ACME-DENTAL MQL"
            await intake.send_and_wait(topic_prefix + topics.LIFECYCLE, forged, key=b"lead-1")


@on_session_kafka
async def test_services_write_their_own_topic_and_read_what_their_registry_consumes(
    bootstrap_servers: str, topic_prefix: str, security_of: Any
) -> None:
    intake_topic = topic_prefix + topics.INTAKE
    captured = f"ACME-DENTAL form fill {uuid.uuid4().hex[:6]}".encode()
    async with producer(bootstrap_servers, security_of("intake")) as intake:
        await intake.send_and_wait(intake_topic, captured, key=b"ACME-DENTAL")

    scoring = security_of("scoring")
    record = await consume_one(bootstrap_servers, scoring, intake_topic, "leadloop-scoring")
    assert record.value == captured
    async with producer(bootstrap_servers, scoring) as publisher:
        scored = b"ACME-DENTAL scored"
        await publisher.send_and_wait(topic_prefix + topics.LIFECYCLE, scored, key=b"ACME-DENTAL")
        # a record it cannot handle goes to the consumed topic's DLQ
        await publisher.send_and_wait(topics.dlq(intake_topic), captured, key=b"ACME-DENTAL")


@on_session_kafka
async def test_a_service_cannot_read_outside_its_registry_or_in_another_group(
    bootstrap_servers: str, topic_prefix: str, security_of: Any
) -> None:
    scoring = security_of("scoring")  # scoring does not consume leads.handoff
    with pytest.raises(TopicAuthorizationFailedError):
        await consume_one(
            bootstrap_servers, scoring, topic_prefix + topics.HANDOFF, "leadloop-scoring"
        )
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_one(
            bootstrap_servers, scoring, topic_prefix + topics.INTAKE, "leadloop-routing"
        )


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
    async with producer(kafka.bootstrap_servers, auth.client("routing")) as routing:
        await routing.send_and_wait(topics.HANDOFF, b"rep-alice assigned", key=b"ACME-DENTAL")
        with pytest.raises(TopicAuthorizationFailedError):
            await routing.send_and_wait(topics.FEEDBACK, b"forged touch", key=b"ACME-DENTAL")
