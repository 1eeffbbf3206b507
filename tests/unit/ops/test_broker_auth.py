"""The broker authenticates its clients: settings, every aiokafka client, compose and k8s
(issue #12, item 14)."""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from leadloop_messaging.kafka import client_security, make_consumer, make_producer
from leadloop_platform.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "scoring", "routing", "feedback")


def settings(**values: object) -> CommonSettings:
    return CommonSettings(**values)  # type: ignore[arg-type]


def test_plaintext_is_the_development_default() -> None:
    assert client_security(settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_passes_scram_credentials_and_tls() -> None:
    options = client_security(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="leadloop",
            kafka_sasl_password=SecretStr("a-long-random-broker-password"),
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "leadloop"
    assert options["sasl_plain_password"] == "a-long-random-broker-password"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_sasl_without_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="LEADLOOP_KAFKA_SASL_PASSWORD"):
        make_producer(settings(kafka_security_protocol="SASL_PLAINTEXT"))


async def test_the_clients_carry_the_credentials() -> None:
    config = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="leadloop",
        kafka_sasl_password=SecretStr("a-long-random-broker-password"),
    )
    producer = make_producer(config)
    consumer = make_consumer(config, "leads.intake", group_id="g")
    try:
        for client in (producer.client, consumer._client):
            assert client._security_protocol == "SASL_PLAINTEXT"
            assert client._sasl_mechanism == "SCRAM-SHA-512"
            assert client._sasl_plain_username == "leadloop"
    finally:
        await consumer.stop()
        await producer.stop()


async def test_production_without_authentication_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="leadloop_messaging.kafka"):
        producer = make_producer(settings(env="production"))
        await producer.stop()
    assert any("LEADLOOP_KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in r.message for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="leadloop_messaging.kafka"):
        producer = make_producer(settings(env="development"))
        await producer.stop()
    assert not caplog.records


def test_every_kafka_client_in_the_code_takes_the_security_options() -> None:
    sources = [*ROOT.glob("libs/messaging/src/**/*.py"), *ROOT.glob("tools/cli/src/**/*.py")]
    calls = 0
    for path in sources:
        text = path.read_text()
        for match in re.finditer(r"AIOKafka(Producer|Consumer|AdminClient)\(", text):
            calls += 1
            assert "security" in text[match.end() : match.end() + 200], f"{path}: {match[0]}"
    assert calls >= 5


def test_compose_clients_authenticate_with_scram_on_the_broker() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    # the repository's broker configuration and its authentication overlay, as the tests run it
    assert "./deploy/kafka:/etc/leadloop-kafka:ro" in kafka["volumes"]
    script = kafka["command"][-1]
    assert "/etc/leadloop-kafka/server.properties /etc/leadloop-kafka/sasl.properties" in script
    assert "--add-scram" in script and "INTERNAL" not in script and "PLAINTEXT://" not in script
    env = compose["x-leadloop"]["environment"]
    assert env["LEADLOOP_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["LEADLOOP_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    for name in SERVICES:  # each service is its own principal
        service = compose["services"][name]["environment"]
        assert service["LEADLOOP_KAFKA_SASL_USERNAME"] == name
        variable = f"KAFKA_{name.upper()}_PASSWORD"
        assert service["LEADLOOP_KAFKA_SASL_PASSWORD"].startswith(f"${{{variable}:?")
    setup = compose["services"]["setup"]
    assert setup["environment"]["LEADLOOP_KAFKA_SASL_USERNAME"] == "admin"
    assert "leadloop kafka acls --apply --users" in " ".join(setup["command"])
    assert setup["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_kubernetes_services_use_sasl_ssl_and_ship_no_broker_password() -> None:
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    [config] = [g for g in kustomization["configMapGenerator"] if g["name"] == "leadloop-config"]
    literals = dict(item.split("=", 1) for item in config["literals"])
    assert literals["LEADLOOP_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert literals["LEADLOOP_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert "LEADLOOP_KAFKA_SASL_USERNAME" not in literals  # one principal per service
    secret = yaml.safe_load((ROOT / "deploy/k8s/secrets.yaml").read_text())
    assert "LEADLOOP_KAFKA_SASL_PASSWORD" not in secret["stringData"]
    for name in SERVICES:
        deployment = yaml.safe_load_all((ROOT / f"deploy/k8s/{name}.yaml").read_text())
        [container] = next(deployment)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["LEADLOOP_KAFKA_SASL_USERNAME"]["value"] == name
        key = env["LEADLOOP_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert key == {"name": "leadloop-kafka", "key": name}
    job = yaml.safe_load((ROOT / "deploy/k8s/setup-job.yaml").read_text())
    [setup] = job["spec"]["template"]["spec"]["containers"]
    assert "leadloop kafka acls --apply --users" in " ".join(setup["command"])
    env = {e["name"]: e for e in setup["env"]}
    assert env["LEADLOOP_KAFKA_SASL_USERNAME"]["value"] == "admin"
    assert {f"LEADLOOP_KAFKA_PASSWORD_{name.upper()}" for name in SERVICES} <= set(env)
